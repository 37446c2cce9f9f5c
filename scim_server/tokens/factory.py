"""The one place that chooses a token registry from the settings."""

from __future__ import annotations

from ..config import Settings
from .local import LocalTokenRegistry
from .organizations import LocalOrganizationRegistry, OrganizationRegistry
from .registry import TokenRegistry


def open_token_registry(settings: Settings) -> TokenRegistry:
    """The registry ``settings`` select: local files, manifests, or Kubernetes Secrets."""
    if settings.token_source == "kubernetes":
        from ..crd.client import kube_configuration
        from .kubernetes import KubernetesTokenRegistry

        return KubernetesTokenRegistry(
            kube_configuration(),
            settings.token_namespace,
            watch_seconds=settings.token_watch_seconds,
            max_staleness=settings.token_max_staleness_seconds,
        ).start()
    local = LocalTokenRegistry(settings.state_dir, settings.tokens_file)
    if settings.manifests_dir is not None:
        from .manifests import ManifestTokenRegistry

        return ManifestTokenRegistry(settings.manifests_dir, local)
    return local


def open_organization_registry(settings: Settings) -> OrganizationRegistry:
    """Where the directory API's organization keys come from: the operator's Secrets
    (token_source=kubernetes), else ``kubescim organizations`` (the state dir)."""
    if settings.token_source == "kubernetes":
        from ..crd.client import kube_configuration
        from .kubernetes_orgs import KubernetesOrganizationRegistry

        return KubernetesOrganizationRegistry(kube_configuration(), settings.token_namespace).start()
    return LocalOrganizationRegistry(settings.state_dir)
