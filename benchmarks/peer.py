"""scim2-server 0.8.3, the reference Python SCIM server, as a WSGI app for gunicorn.

It serves what the ``scim2-server`` command serves (RFC 7643 schemas and resource
types, a static bearer token, ``InMemoryStorage``), but as a module-level ``app``
instead of through ``wsgiref``, so it runs under the same gunicorn settings as the
other targets. Its storage lives in process memory, so the benchmark serves it with
``--preload``: the master seeds the plan named by ``BENCH_PEER_SEED`` once, writes the
ids to ``BENCH_PEER_OUT``, and the forked workers start with identical data. Writes
made during a run land in one worker only, which is harmless for the scenarios
measured (unique POSTs, member adds to groups that both workers hold).

Seeding goes through the HTTP handler for the first resource of each set, and then
stores copies of that resource's validated model directly (about 5,000 users/s
instead of 700/s through the handler), so a 100,000-user plan loads in seconds.
"""

from __future__ import annotations

import datetime
import os
import secrets
import sys
import uuid
from pathlib import Path
from typing import Any

from scim2_models import Meta, ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)
from werkzeug.test import Client

from benchmarks.payloads import SCIM_JSON, group_body, user_body
from benchmarks.seedplan import Seeded, SeedPlan

TOKEN_ENV = "BENCH_PEER_TOKEN"


def build(token: str) -> tuple[BearerTokenApplication, InMemoryStorage]:
    """The application ``scim2-server --bearer-token TOKEN`` serves, and its storage."""
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    storage = InMemoryStorage()
    return BearerTokenApplication(storage, provider, service, bearer_tokens=[token]), storage


def _create(client: Client, token: str, endpoint: str, body: dict[str, Any]) -> str:
    response = client.post(
        f"/v2/{endpoint}",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON},
    )
    if response.status_code != 201:
        raise RuntimeError(f"seeding {endpoint}: {response.status_code} {response.get_data()!r}")
    return str(response.get_json()["id"])


def seed(app: BearerTokenApplication, storage: InMemoryStorage, token: str, plan: SeedPlan) -> Seeded:
    """Store everything the plan names and return the ids.

    Raises RuntimeError when the handler refuses one of the template resources.
    """
    client = Client(app)
    seeded = Seeded()
    extra: list[Any] = []
    now = datetime.datetime.now(datetime.UTC)

    def copy_of(template: Any, resource_type: str, **update: Any) -> Any:
        resource = template.model_copy(deep=True, update=update)
        resource.id = uuid.uuid4().hex
        resource.meta = Meta(
            resource_type=resource_type,
            created=now,
            last_modified=now,
            version=storage.next_version(),
        )
        return resource

    for users in plan.users:
        if users.count == 0:
            seeded.users[users.name] = []
            continue
        first = _create(client, token, "Users", user_body(users.suffix(0)))
        cls = type(next(r for r in storage.resources if r.id == first))
        ids = [first]
        for i in range(1, users.count):
            resource = copy_of(cls.model_validate(user_body(users.suffix(i))), "User")
            extra.append(resource)
            ids.append(resource.id)
        seeded.users[users.name] = ids
    storage.resources = storage.resources + extra
    extra = []

    for groups in plan.groups:
        if groups.count == 0:
            seeded.groups[groups.name] = []
            continue
        members = seeded.users[groups.members_from][: groups.members]
        first = _create(client, token, "Groups", group_body(groups.suffix(0), members))
        template = next(r for r in storage.resources if r.id == first)
        ids = [first]
        for i in range(1, groups.count):
            resource = copy_of(template, "Group", display_name=f"group-{groups.suffix(i)}")
            extra.append(resource)
            ids.append(resource.id)
        seeded.groups[groups.name] = ids
    storage.resources = storage.resources + extra
    # The storage builds its userName index on the first such search (and drops it when
    # ``resources`` is assigned): build it here, before the fork, not in each worker
    # during a measured run.
    client.get('/v2/Users?filter=userName eq "nobody"', headers={"Authorization": f"Bearer {token}"})
    return seeded


def create_app() -> BearerTokenApplication:
    """Build the app; seed it when ``BENCH_PEER_SEED`` names a plan file."""
    token = os.environ.get(TOKEN_ENV, "bench-token")
    app, storage = build(token)
    plan_file = os.environ.get("BENCH_PEER_SEED")
    if plan_file:
        seeded = seed(app, storage, token, SeedPlan.load(Path(plan_file)))
        out = Path(os.environ["BENCH_PEER_OUT"])
        tmp = out.with_suffix(".tmp")
        seeded.dump(tmp)
        tmp.rename(out)
        print(f"peer: seeded {len(storage.resources)} resources", file=sys.stderr)
    return app


app = create_app()
