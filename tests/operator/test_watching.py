"""What the operator asks the API server to send it: only the objects it owns."""

from __future__ import annotations

import kopf

from scim_operator.handlers import OWNED_SELECTOR, build_settings, register
from scim_operator.settings import OperatorSettings
from scim_server.crd import names as n


def test_owned_kinds_are_watched_through_a_server_side_label_selector() -> None:
    settings = build_settings(OperatorSettings())
    for resource in (
        kopf.Resource("", "v1", "secrets"),
        kopf.Resource("", "v1", "services"),
        kopf.Resource("networking.k8s.io", "v1", "ingresses"),
    ):
        assert settings.watching.label_selectors.collect(resource) == [OWNED_SELECTOR]
    assert settings.watching.label_selectors.collect(kopf.Resource("", "v1", "configmaps")) == []
    assert settings.watching.label_selectors.collect(kopf.Resource(n.GROUP, n.VERSION, n.DIRECTORIES)) == []


def test_the_selector_is_the_owned_handlers_label_filter() -> None:
    """The server-side selector must not drop an object the handlers' filter would take."""
    registry = kopf.OperatorRegistry()
    register(registry, OperatorSettings())
    filters = [
        h.labels
        for h in registry._watching.get_all_handlers()  # kopf has no public listing
        if h.labels
    ]
    assert filters
    for labels in filters:
        wanted = {k if v is kopf.PRESENT else f"{k}={v}" for k, v in labels.items()}
        assert wanted == set(OWNED_SELECTOR.split(","))
