"""What an identity provider does after an admin pastes the endpoint and token: check the
connection, look a user up, create it, deactivate it, push a group, all through the
cluster's Ingress; then wait until ``kubectl get sd`` shows the counts.

``python -m tests.e2e.idp_sequence --namespace acme --directory acme-okta --https-port 18443``
(run by ``hack/e2e/run.sh``; uses ``kubectl`` with the current KUBECONFIG). Exits non-zero
with the failing step on stderr.
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import time
from urllib.parse import urlsplit

import requests
import urllib3

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def kubectl(*args: str) -> str:
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, check=True).stdout


class Idp:
    """Requests to a directory's SCIM base URL ``base``, with ``host`` as the Host header."""

    def __init__(self, base: str, token: str, host: str | None = None) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}", **({"Host": host} if host else {})}

    @classmethod
    def through_ingress(cls, endpoint: str, token: str, port: int) -> Idp:
        """The directory's endpoint, reached on the local Ingress port."""
        parts = urlsplit(endpoint)
        return cls(f"https://127.0.0.1:{port}{parts.path}", token, parts.netloc)

    def call(self, method: str, path: str, expect: int, token: str | None = None, **kw: object) -> dict:
        headers = dict(self.headers)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        # The Ingress presents ingress-nginx's default certificate: the examples' TLS Secret
        # is not created here.
        response = requests.request(method, self.base + path, headers=headers, verify=False, timeout=15, **kw)  # noqa: S501
        if response.status_code != expect:
            raise SystemExit(
                f"{method} {path}: expected {expect}, got {response.status_code}: {response.text[:500]}"
            )
        return response.json() if response.content else {}


def run(idp: Idp) -> None:
    idp.call("GET", "/Users", 401, token="not-the-token")
    idp.call("GET", "/ServiceProviderConfig", 200)
    found = idp.call("GET", "/Users", 200, params={"filter": 'userName eq "ada@acme.example"'})
    assert found["totalResults"] == 0, found
    user = {"schemas": [USER], "userName": "ada@acme.example", "name": {"givenName": "Ada"}, "active": True}
    user_id = idp.call("POST", "/Users", 201, json=user)["id"]
    idp.call("GET", f"/Users/{user_id}", 200)
    off = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert idp.call("PATCH", f"/Users/{user_id}", 200, json=off)["active"] is False
    group = {"schemas": [GROUP], "displayName": "engineering", "members": [{"value": user_id}]}
    group_id = idp.call("POST", "/Groups", 201, json=group)["id"]
    rename = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "eng"}]}
    idp.call("PATCH", f"/Groups/{group_id}", 204, json=rename)  # Groups: 204 unless attributes are asked for


def wait_for_columns(namespace: str, directory: str, timeout: float = 90) -> list[str]:
    """``kubectl get sd``'s row once READY is True and USERS, GROUPS are 1."""
    deadline = time.monotonic() + timeout
    row: list[str] = []
    while time.monotonic() < deadline:
        lines = kubectl("get", "sd", directory, "-n", namespace).splitlines()
        header, row = lines[0].split(), lines[1].split()
        columns = dict(zip(header, row, strict=False))
        if columns.get("READY") == "True" and columns.get("USERS") == "1" and columns.get("GROUPS") == "1":
            return row
        time.sleep(2)
    raise SystemExit(
        f"kubectl get sd {directory}: no READY True, USERS 1, GROUPS 1 within {timeout:.0f} s: {row}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--directory", required=True)
    parser.add_argument("--https-port", type=int, required=True)
    args = parser.parse_args()
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    endpoint = kubectl("get", "sd", args.directory, "-n", args.namespace, "-o", "jsonpath={.status.endpoint}")
    secret = kubectl(
        "get", "secret", f"{args.directory}-scim-token", "-n", args.namespace, "-o", "jsonpath={.data.token}"
    )
    run(Idp.through_ingress(endpoint, base64.b64decode(secret).decode(), args.https_port))
    print("kubectl get sd:", " ".join(wait_for_columns(args.namespace, args.directory)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
