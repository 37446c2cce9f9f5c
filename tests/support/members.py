"""One membership change through the storage interface, as the SCIM PATCH handler makes it."""

from __future__ import annotations

from typing import Literal

from scim_server.scim.patch import MemberChange
from scim_server.storage import Storage


def change_members(
    storage: Storage, directory: str, group_id: str, op: Literal["add", "remove"], *member_ids: str
) -> None:
    """Add (or remove) ``member_ids`` to (from) the group, without reading its members back."""
    storage.patch(
        directory, "Group", group_id, None, [MemberChange(op, member_ids)], if_match=None, members=False
    )
