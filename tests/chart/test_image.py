"""The image's invariants, read from the Dockerfile (no Docker here: the build itself runs
in the e2e workflow): multi-stage on a slim Python 3.11, a numeric non-root user that the
chart's pods run as, every source the package needs copied in, and the two entry points
the chart runs installed by the package."""

from __future__ import annotations

import fnmatch
import importlib
import re
import tomllib
from pathlib import Path

import setuptools

from hack.chart.values import PodSecurity
from tests.support.chart import REPO_ROOT, container_env, one, render

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [
        line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def test_image_is_multi_stage_on_slim_python_3_11() -> None:
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE)
    assert base is not None
    assert base.group(1).startswith("python:3.11-slim")
    stages = _stages()
    assert len(stages) >= 2
    assert all(stage[0][1].split()[0] == "${PYTHON_IMAGE}" for stage in stages)
    assert any(kind == "COPY" and args.startswith("--from=build") for kind, args in stages[-1])


def test_runtime_runs_as_the_numeric_non_root_user_the_chart_runs_pods_as() -> None:
    users = [args for kind, args in _stages()[-1] if kind == "USER"]
    assert users, "the runtime stage must set USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit()
    assert gid.isdigit()
    assert int(uid) != 0
    assert int(gid) != 0
    assert (int(uid), int(gid)) == (PodSecurity().runAsUser, PodSecurity().runAsGroup)
    assert "useradd" in DOCKERFILE
    assert f"--uid {uid}" in DOCKERFILE


def test_chart_commands_are_the_packages_entry_points() -> None:
    scripts = PYPROJECT["project"]["scripts"]
    manifests = render()
    for component in ("server", "operator"):
        command = one(manifests, "Deployment", f"kubescim-{component}")["spec"]["template"]["spec"][
            "containers"
        ][0]["command"][0]
        module, _, function = scripts[command].partition(":")
        assert callable(getattr(importlib.import_module(module), function))
    image_cmd = re.search(r'^CMD \["(\S+)"', DOCKERFILE, re.MULTILINE)
    assert image_cmd is not None
    assert image_cmd.group(1) in scripts


def _dockerignore_allows(path: str) -> bool:
    allowed = False
    for pattern in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(f"{pattern}/"):
            allowed = negate
    return allowed


def test_every_package_and_its_data_reach_the_build_stage() -> None:
    copied = [source for kind, args in _stages()[0] if kind == "COPY" for source in args.split()[:-1]]
    find = PYPROJECT["tool"]["setuptools"]["packages"]["find"]
    sources: list[Path] = []
    for where in find["where"]:
        for package in setuptools.find_packages(str(REPO_ROOT / where), include=find["include"]):
            sources.append((REPO_ROOT / where / package.replace(".", "/")).relative_to(REPO_ROOT))
    assert len(sources) > 5
    for package_dir in [*sources, Path("pyproject.toml"), Path("README.md")]:
        top = package_dir.parts[0]
        assert top in copied, f"{package_dir} is not copied into the build stage"
        assert _dockerignore_allows(str(package_dir)), f"{package_dir} is excluded by .dockerignore"
    for excluded in (".venv", ".git", "tests/api", "charts/kubescim"):
        assert not _dockerignore_allows(excluded)


def test_default_image_tag_is_the_package_version() -> None:
    version = PYPROJECT["project"]["version"]
    server = one(render(), "Deployment", "kubescim-server")
    assert server["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f":{version}")
    assert container_env(server)["KUBESCIM_STATE_DIR"].startswith("/tmp/")  # the image's HOME is /tmp too
    assert "HOME=/tmp" in DOCKERFILE


def test_build_script_tags_with_the_package_version() -> None:
    script = (REPO_ROOT / "hack" / "image" / "build.sh").read_text()
    assert 'TAG="${TAG:-$VERSION}"' in script
    assert "pyproject.toml" in script
