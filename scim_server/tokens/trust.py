"""Which Secret each directory id trusts: the token trust model, as pure bookkeeping.

A label is a claim, not a proof: anyone who may create a Secret can label it. A token is
accepted for directory id D only from the Secret that the one live ScimDirectory whose
``status.directoryId`` is D names in ``status.tokenSecretRef``, in that directory's
namespace, controlled by that directory (ownerReference with its UID) and labelled D.
Status is written through the status subresource, which tenants cannot write; every other
Secret claiming an id is refused and reported. See docs/security.md, "Token trust model".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..crd import names as n
from ..crd.secret import TokenSecret
from .credentials import Entry

Key = tuple[str, str]  # (namespace, name)

# Why a Secret that claims a directory id is refused (the metric's ``reason`` label).
WRONG_NAMESPACE: Final = "wrong-namespace"
NOT_OWNED: Final = "not-owned"
WRONG_OWNER: Final = "wrong-owner"
NOT_TOKEN_SECRET_REF: Final = "not-token-secret-ref"
UNKNOWN_ID: Final = "unknown-directory-id"
AMBIGUOUS_ID: Final = "ambiguous-directory-id"
OWNER_UNRESOLVED: Final = "owner-unresolved"
EXPLANATIONS: Final = {
    WRONG_NAMESPACE: "the ScimDirectory holding that id lives in another namespace",
    NOT_OWNED: "it is not controlled by a ScimDirectory",
    WRONG_OWNER: "it is not controlled by the ScimDirectory holding that id",
    NOT_TOKEN_SECRET_REF: "it is not the Secret named by that directory's status.tokenSecretRef",
    UNKNOWN_ID: "no ScimDirectory holds that id",
    AMBIGUOUS_ID: "several ScimDirectories hold that id",
    OWNER_UNRESOLVED: "its owner ScimDirectory was not found",
}
ACCEPTED: Final = "accepted"
PENDING: Final = "pending"  # its owner's status has not named it yet (normal while created)
INACTIVE: Final = "inactive"  # the token Secret of a directory being deleted


# -- what the cluster says ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DirectoryRecord:
    """A ScimDirectory, reduced to what trust needs."""

    namespace: str
    name: str
    uid: str
    directory_id: str | None
    token_secret: str | None
    deleting: bool
    suspended: bool
    missing_organization: str | None  # the Organization's name while OrganizationReady is False


def directory_record(obj: Mapping[str, Any]) -> DirectoryRecord:
    """Read a ScimDirectory (as the API serves it)."""
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    conditions = status.get("conditions") or []
    org = next((x for x in conditions if x.get("type") == n.ORGANIZATION_READY), None)
    org_name = (spec.get("organizationRef") or {}).get("name", "")
    return DirectoryRecord(
        namespace=meta["namespace"],
        name=meta["name"],
        uid=meta.get("uid", ""),
        directory_id=status.get("directoryId") or None,
        token_secret=(status.get("tokenSecretRef") or {}).get("name") or None,
        deleting=bool(meta.get("deletionTimestamp")),
        suspended=bool(spec.get("suspended")),
        missing_organization=org_name if org is not None and org.get("status") == "False" else None,
    )


def entries(secret: TokenSecret) -> list[Entry]:
    """The tokens a Secret makes valid: its current one, and a rotated-out one until it expires."""
    out = [Entry(secret.token_sha256, "", None)] if secret.token_sha256 else []
    if secret.previous is not None:
        out.append(Entry(secret.previous[0], "", secret.previous[1]))
    return out


# -- the trust decision -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Access:
    """What a request for one directory id may use: the accepted Secret's tokens."""

    entries: list[Entry]
    refusal: str | None  # why a valid token still gets 403
    suspended: bool


@dataclass(frozen=True, slots=True)
class Rejection:
    """A Secret refused as the token Secret of the id it claims (never its data)."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    directory_id: str
    reason: str
    holder: DirectoryRecord | None  # the live directory holding the claimed id, if any

    @property
    def message(self) -> str:
        return (
            f"Secret {self.namespace}/{self.name} claims directory id {self.directory_id} but "
            f"{EXPLANATIONS[self.reason]}; its token is refused"
        )


def refusal(holder: DirectoryRecord, secret: TokenSecret) -> str | None:
    """The 403 message for a directory whose token is valid, or None when it is active."""
    dir_id = holder.directory_id
    if holder.suspended or secret.suspended:
        return f"directory {dir_id} is suspended"
    if holder.missing_organization is not None:
        return f"directory {dir_id} is not active: Organization {holder.missing_organization} not found"
    return None


def rejection_reason(secret: TokenSecret, owner: DirectoryRecord | None, live: list[DirectoryRecord]) -> str:
    """Why ``secret`` is not the token Secret of the id it claims (``live`` hold that id)."""
    if len(live) > 1:
        return AMBIGUOUS_ID
    if not live:
        return UNKNOWN_ID
    holder = live[0]
    if secret.namespace != holder.namespace:
        return WRONG_NAMESPACE
    if secret.owner is None or not secret.owner.is_directory:
        return NOT_OWNED
    if owner is None or owner.uid != holder.uid:
        return WRONG_OWNER
    return NOT_TOKEN_SECRET_REF


class TrustIndex:
    """Which Secret each directory id trusts, kept up to date object by object.

    Pure bookkeeping (no I/O, not thread-safe): callers feed it what the watches see and
    act on the rejections it returns, each once per Secret version and reason.
    """

    def __init__(self) -> None:
        self.ready = False  # nothing is decided before both kinds were listed once
        self.secrets: dict[Key, TokenSecret] = {}
        self.directories: dict[Key, DirectoryRecord] = {}
        self.access: dict[str, Access] = {}
        self.rejected: dict[Key, Rejection] = {}
        self.rejected_counts: dict[str, int] = dict.fromkeys(EXPLANATIONS, 0)  # by reason
        self.pending_since: dict[Key, float] = {}
        self._expired: set[Key] = set()
        self._claims: dict[str, set[Key]] = {}
        self._holders: dict[str, set[Key]] = {}
        self._owned: dict[Key, set[Key]] = {}  # owner directory -> Secrets it controls
        self._uids: dict[str, Key] = {}

    # -- feeding --------------------------------------------------------------------------
    def put_secret(self, key: Key, secret: TokenSecret | None, now: float) -> list[Rejection]:
        old = self.secrets.pop(key, None)
        if old is not None:
            _unlink(self._claims, old.directory_id, key)
            if old.owner is not None:
                _unlink(self._owned, (old.namespace, old.owner.name), key)
        if secret is None or old is None or old.uid != secret.uid:
            self.pending_since.pop(key, None)
            self._expired.discard(key)
            self._unreject(key)
        if secret is not None:
            self.secrets[key] = secret
            self._claims.setdefault(secret.directory_id, set()).add(key)
            if secret.owner is not None:
                self._owned.setdefault((secret.namespace, secret.owner.name), set()).add(key)
        return self._evaluate(_ids(old, secret), now)

    def put_directory(self, key: Key, record: DirectoryRecord | None, now: float) -> list[Rejection]:
        old = self.directories.pop(key, None)
        if old is not None:
            self._uids.pop(old.uid, None)
            if old.directory_id:
                _unlink(self._holders, old.directory_id, key)
        if record is not None:
            self.directories[key] = record
            self._uids[record.uid] = key
            if record.directory_id:
                self._holders.setdefault(record.directory_id, set()).add(key)
        ids = {r.directory_id for r in (old, record) if r is not None and r.directory_id}
        ids |= {self.secrets[k].directory_id for k in self._owned.get(key, ())}
        return self._evaluate(ids, now)

    def replace_secrets(self, items: Mapping[Key, TokenSecret], now: float) -> list[Rejection]:
        """Take a fresh listing: what it lacks was deleted meanwhile."""
        return _replace(self.secrets, items, self.put_secret, now)

    def replace_directories(self, items: Mapping[Key, DirectoryRecord], now: float) -> list[Rejection]:
        return _replace(self.directories, items, self.put_directory, now)

    def start(self, now: float) -> list[Rejection]:
        self.ready = True
        return self._evaluate(set(self._claims) | set(self._holders), now)

    def expire_pending(self, grace: float, now: float) -> list[Rejection]:
        """Refuse, as OWNER_UNRESOLVED, Secrets pending for longer than ``grace``."""
        due = {key for key, since in self.pending_since.items() if now - since >= grace}
        self._expired |= due
        return self._evaluate({self.secrets[key].directory_id for key in due}, now)

    # -- deciding -------------------------------------------------------------------------
    def _evaluate(self, ids: Iterable[str], now: float) -> list[Rejection]:
        if not self.ready:
            return []
        reports: list[Rejection] = []
        for dir_id in ids:
            reports.extend(self._evaluate_id(dir_id, now))
        return reports

    def _evaluate_id(self, dir_id: str, now: float) -> list[Rejection]:
        holders = [self.directories[k] for k in self._holders.get(dir_id, ())]
        live = [h for h in holders if not h.deleting]
        accepted: TokenSecret | None = None
        reports: list[Rejection] = []
        for key in sorted(self._claims.get(dir_id, ())):
            secret = self.secrets[key]
            verdict = self._verdict(key, secret, live, now)
            if verdict == ACCEPTED:
                accepted = secret
            report = self._record(key, secret, verdict, live)
            if report is not None:
                reports.append(report)
        if accepted is None:
            self.access.pop(dir_id, None)
        else:
            holder = live[0]
            suspended = holder.suspended or accepted.suspended
            self.access[dir_id] = Access(entries(accepted), refusal(holder, accepted), suspended)
        return reports

    def _owner_of(self, secret: TokenSecret) -> DirectoryRecord | None:
        if secret.owner is None or not secret.owner.is_directory:
            return None
        owner = self.directories.get((secret.namespace, secret.owner.name))
        return owner if owner is not None and owner.uid == secret.owner.uid else None

    def _verdict(self, key: Key, secret: TokenSecret, live: list[DirectoryRecord], now: float) -> str:
        owner = self._owner_of(secret)
        if owner is not None and (owner.directory_id, owner.token_secret) == (
            secret.directory_id,
            secret.name,
        ):
            self.pending_since.pop(key, None)
            return ACCEPTED if live == [owner] else INACTIVE
        if self._awaiting_status(secret, owner, live):
            if key not in self._expired:
                self.pending_since.setdefault(key, now)
                return PENDING
            return OWNER_UNRESOLVED
        self.pending_since.pop(key, None)
        return rejection_reason(secret, owner, live)

    def _awaiting_status(
        self, secret: TokenSecret, owner: DirectoryRecord | None, live: list[DirectoryRecord]
    ) -> bool:
        """Whether ``secret`` may be a token Secret its directory's status does not name yet
        (the operator writes the Secret first; the two watches deliver in any order)."""
        if secret.owner is None or not secret.owner.is_directory:
            return False
        if any(h.namespace != secret.namespace for h in live):
            return False  # the id belongs to another namespace: nothing here can earn it
        seen_as = self._uids.get(secret.owner.uid)
        if seen_as is not None and seen_as != (secret.namespace, secret.owner.name):
            return False  # the owner's UID is another object's
        return owner is None or owner.directory_id is None

    def _record(
        self, key: Key, secret: TokenSecret, verdict: str, live: list[DirectoryRecord]
    ) -> Rejection | None:
        if verdict in (ACCEPTED, PENDING, INACTIVE):
            self._unreject(key)
            return None
        holder = live[0] if len(live) == 1 else None
        rejection = Rejection(
            secret.namespace,
            secret.name,
            secret.uid,
            secret.resource_version,
            secret.directory_id,
            verdict,
            holder,
        )
        seen = self._unreject(key)
        self.rejected[key] = rejection
        self.rejected_counts[verdict] += 1
        if seen is not None and (seen.uid, seen.resource_version, seen.reason) == (
            rejection.uid,
            rejection.resource_version,
            rejection.reason,
        ):
            return None
        return rejection

    def _unreject(self, key: Key) -> Rejection | None:
        seen = self.rejected.pop(key, None)
        if seen is not None:
            self.rejected_counts[seen.reason] -= 1
        return seen


def _ids(*objects: TokenSecret | None) -> set[str]:
    return {o.directory_id for o in objects if o is not None}


def _unlink(index: dict[Any, set[Key]], at: Any, key: Key) -> None:
    keys = index.get(at)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[at]


def _replace(
    current: Mapping[Key, Any],
    items: Mapping[Key, Any],
    put: Callable[[Key, Any, float], list[Rejection]],
    now: float,
) -> list[Rejection]:
    reports: list[Rejection] = []
    for key in [k for k in current if k not in items]:
        reports.extend(put(key, None, now))
    for key, item in items.items():
        if current.get(key) != item:
            reports.extend(put(key, item, now))
    return reports
