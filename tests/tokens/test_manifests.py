"""``kubescim serve --manifests``: the directories a folder of manifests declares, served locally."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from scim_server.app import create_app
from scim_server.config import Settings
from scim_server.tokens.local import LocalTokenRegistry
from scim_server.tokens.manifests import ManifestError, ManifestTokenRegistry, ensure_tokens, load_directories

ROOT = Path(__file__).resolve().parents[2]
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def write(folder: Path, name: str, *docs: dict[str, object]) -> None:
    (folder / name).write_text(yaml.safe_dump_all(docs))


def directory(name: str, **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "kubescim.io/v1alpha1",
        "kind": "ScimDirectory",
        "metadata": {"name": name, "namespace": "acme"},
        "spec": {"organizationRef": {"name": "acme"}, **spec},
    }


def test_the_examples_load_with_the_operators_ids() -> None:
    declared = load_directories(ROOT / "examples")
    assert {d.name for d in declared} >= {"acme-okta", "acme-entra"}
    assert all(d.id == f"default-{d.name}" for d in declared)


def organization(name: str = "acme") -> dict[str, object]:
    return {
        "apiVersion": "kubescim.io/v1alpha1",
        "kind": "Organization",
        "metadata": {"name": name, "namespace": "acme"},
        "spec": {"displayName": "Acme"},
    }


def test_declared_directories_are_served_and_others_refused(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write(folder, "org.yaml", organization())
    write(folder, "dirs.yaml", directory("okta"), directory("paused", suspended=True))
    settings = Settings(state_dir=tmp_path / "state", manifests_dir=folder, access_log=False)
    local = LocalTokenRegistry(settings.state_dir)
    issued = ensure_tokens(load_directories(folder), local)
    assert set(issued) == {"acme-okta", "acme-paused"}
    assert ensure_tokens(load_directories(folder), local) == {}
    stray = local.issue("undeclared")
    client = create_app(settings).test_client()

    def get(dir_id: str, token: str) -> int:
        return client.get(
            f"/scim/v2/{dir_id}/Users", headers={"Authorization": f"Bearer {token}"}
        ).status_code

    assert get("acme-okta", issued["acme-okta"]) == 200
    assert get("acme-paused", issued["acme-paused"]) == 403
    assert get("undeclared", stray) == 401
    write(folder, "dirs.yaml", directory("okta"))
    registry = ManifestTokenRegistry(folder, local)
    assert registry.directories() == ["acme-okta"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({**directory("x"), "apiVersion": "kubescim.io/v9"}, "apiVersion must be"),
        ({**directory("x"), "spec": {}}, "needs spec.organizationRef.name"),
        (directory("x", endpoint={"path": "/scim/v2/Bad_Id"}), "invalid directory name"),
    ],
)
def test_bad_manifests_name_their_file(tmp_path: Path, doc: dict[str, object], message: str) -> None:
    write(tmp_path, "bad.yaml", doc)
    with pytest.raises(ManifestError, match=message) as exc:
        load_directories(tmp_path)
    assert "bad.yaml" in str(exc.value)


def test_a_directory_id_declared_twice_is_an_error(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "okta-directory.yaml", tmp_path / "a.yaml")
    shutil.copy(ROOT / "examples" / "okta-directory.yaml", tmp_path / "b.yaml")
    with pytest.raises(ManifestError, match="declared twice"):
        load_directories(tmp_path)


def test_a_directory_whose_organization_is_not_declared_answers_403_as_on_a_cluster(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write(
        folder,
        "dirs.yaml",
        directory("okta"),
        {**directory("other"), "spec": {"organizationRef": {"name": "globex"}}},
    )
    write(folder, "org.yaml", organization("acme"))
    settings = Settings(state_dir=tmp_path / "state", manifests_dir=folder, access_log=False)
    issued = ensure_tokens(load_directories(folder), LocalTokenRegistry(settings.state_dir))
    client = create_app(settings).test_client()

    ok = client.get("/scim/v2/acme-okta/Users", headers={"Authorization": f"Bearer {issued['acme-okta']}"})
    refused = client.get(
        "/scim/v2/acme-other/Users", headers={"Authorization": f"Bearer {issued['acme-other']}"}
    )

    assert ok.status_code == 200
    assert refused.status_code == 403
    assert refused.get_json()["detail"] == "directory acme-other is not active: Organization globex not found"
