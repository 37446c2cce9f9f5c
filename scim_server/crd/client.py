"""The Kubernetes client configuration both the operator and the server's registry use."""

from __future__ import annotations

from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ReadTimeoutError

from . import names as n


def kube_configuration() -> client.Configuration:
    """The in-cluster service account's configuration, else ``$KUBECONFIG``'s, with TCP
    keepalive on its sockets (client-go's timings), so a dead peer is noticed."""
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
    except config.ConfigException:
        config.load_kube_config(client_configuration=configuration)
    configuration.keep_alive = True
    return configuration


def api_client(pool_size: int) -> client.ApiClient:
    """A client whose connection pool holds ``pool_size`` connections (one per worker
    thread, so none is opened and dropped under load)."""
    configuration = kube_configuration()
    configuration.connection_pool_maxsize = pool_size
    return client.ApiClient(configuration)


def list_custom_objects(api: client.ApiClient, plural: str, namespace: str | None) -> list[dict[str, Any]]:
    """Every object of one of our kinds, in ``namespace`` (all namespaces when None)."""
    custom = client.CustomObjectsApi(api)
    listing: Any
    if namespace:
        listing = custom.list_namespaced_custom_object(n.GROUP, n.VERSION, namespace, plural)
    else:
        listing = custom.list_cluster_custom_object(n.GROUP, n.VERSION, plural)
    return list(listing.get("items") or [])


def describe(exc: BaseException) -> str:
    """An API error's kind for a log line or a retry message, never its text: an
    ``ApiException`` quotes the response body, which may hold object data, even a Secret's."""
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status} {exc.reason or ''}".strip()
    if isinstance(exc, ReadTimeoutError):
        return "no data before the read timeout"
    return type(exc).__name__
