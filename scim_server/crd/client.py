"""The Kubernetes client configuration both the operator and the server's registry use."""

from __future__ import annotations

from kubernetes import client, config


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
