"""Resources and events rendered by PostgreSQL, as ``rows.py`` renders them.

A member change or a user update is then one statement with its events: the resource
the event carries is read and rendered where the change happens, with no round trip
back to Python. These expressions must give exactly what ``user_resource`` and
``group_resource`` give; tests/storage/test_events.py compares both renderings.
"""

from __future__ import annotations

from ..events.model import GROUP_USER_ADDED, GROUP_USER_REMOVED, USER_UPDATED
from ..scim.schemas import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA

# ``rows.iso``: RFC 3339 UTC with microseconds and a Z.
_ISO = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""


def _time(column: str) -> str:
    return f"to_char({column} AT TIME ZONE 'UTC', {_ISO})"


def counter_bump(source: str) -> str:
    """The CTE ``bump``: add what ``source`` gives, ``(directory, count)`` rows from a
    SELECT or VALUES, to the directory's event counter and return its new last number.

    The counter row stays locked until commit, so a directory's events commit in number
    order with no gaps, whatever the concurrency.
    """
    return f"""bump AS (
    INSERT INTO event_streams (directory_id, seq) {source}
    ON CONFLICT (directory_id) DO UPDATE SET seq = event_streams.seq + excluded.seq RETURNING seq
)"""


def resource_json(kind: str, alias: str) -> str:
    """A jsonb expression rendering the row ``alias`` (id, data, created, last_modified,
    version) as the resource, without its groups or members.

    Stored attributes never hold ``schemas``, ``id`` or ``meta`` (read-only), so
    the server's keys are merged over them as the Python rendering adds them.
    """
    if kind == "User":
        schemas = (
            f"CASE WHEN {alias}.data ? '{ENTERPRISE_SCHEMA}' "
            f"THEN jsonb_build_array('{USER_SCHEMA}', '{ENTERPRISE_SCHEMA}') "
            f"ELSE jsonb_build_array('{USER_SCHEMA}') END"
        )
    else:
        schemas = f"jsonb_build_array('{GROUP_SCHEMA}')"
    meta = (
        f"jsonb_build_object('resourceType', '{kind}', 'created', {_time(f'{alias}.created')}, "
        f"'lastModified', {_time(f'{alias}.last_modified')}, "
        f"""'version', 'W/"' || {alias}.version || '"')"""
    )
    return f"{alias}.data || jsonb_build_object('schemas', {schemas}, 'id', {alias}.id, 'meta', {meta})"


def membership_events(changed: str, group: str, added: bool) -> str:
    """CTEs writing ``user_added``/``user_removed`` events for the users among the
    ``(member_id, member_type)`` rows of the CTE ``changed``, in the group row of the
    CTE ``group``. Parameters: ``%(d)s`` (directory) and ``%(now)s`` (occurred at).

    No user changed, no bump and no event.
    """
    event = GROUP_USER_ADDED if added else GROUP_USER_REMOVED
    return f"""users_changed AS (
    SELECT row_number() OVER () AS n, {resource_json("User", "u")} AS usr
    FROM {changed} c JOIN users u ON u.directory_id = %(d)s AND u.id = c.member_id
    WHERE c.member_type = 'User'
), {counter_bump("SELECT %(d)s, count(*) FROM users_changed HAVING count(*) > 0")}, emitted AS (
    INSERT INTO events (directory_id, seq, type, occurred_at, data)
    SELECT %(d)s, b.seq - (SELECT count(*) FROM users_changed) + c.n, '{event}', %(now)s,
        jsonb_build_object('user', c.usr, 'group', {resource_json("Group", "g")})
    FROM bump b, users_changed c, {group} g
)"""


def groups_json(column: str) -> str:
    """A jsonb object ``{"groups": [...]}`` from a ``[[id, display], ...]`` json column, as
    ``group_entry`` renders each; ``{}`` when there is none (``user_resource`` leaves the
    key out). Groups always have a display name (NOT NULL)."""
    entries = (
        "SELECT jsonb_agg(jsonb_build_object('value', e->>0, 'type', 'direct', 'display', e->>1) "
        f"ORDER BY n) FROM json_array_elements({column}) WITH ORDINALITY AS x(e, n)"
    )
    return f"CASE WHEN {column} IS NULL THEN '{{}}'::jsonb ELSE jsonb_build_object('groups', ({entries})) END"


def user_updated_events(updated: str) -> str:
    """CTEs writing ``dsync.user.updated`` for the row of the CTE ``updated`` (id, data,
    created, last_modified, version, groups), no row no event. Parameters: ``%(d)s``,
    ``%(ts)s`` (occurred at) and ``%(previous)s`` (the user before, as read)."""
    resource = f"{resource_json('User', 'u')} || {groups_json('u.groups')}"
    return f"""{counter_bump(f"SELECT %(d)s, 1 FROM {updated}")}, emitted AS (
    INSERT INTO events (directory_id, seq, type, occurred_at, data)
    SELECT %(d)s, b.seq, '{USER_UPDATED}', %(ts)s,
        jsonb_build_object('resource', {resource}, 'previous', %(previous)s::jsonb)
    FROM bump b, {updated} u
)"""
