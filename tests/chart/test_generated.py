"""The chart's generated files match their one source, and its version follows the package's."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator

import yaml
from pydantic import BaseModel

from hack.chart import generate
from hack.chart.values import ChartValues
from tests.support.chart import CHART_DIR, REPO_ROOT, chart


def test_generated_files_are_current() -> None:
    stale = [str(p.relative_to(REPO_ROOT)) for p in generate.stale()]
    assert stale == [], "run `python -m hack.chart.generate`"


def test_chart_crds_are_the_repositorys_crds_byte_for_byte() -> None:
    for source in sorted((REPO_ROOT / "crds").glob("*.yaml")):
        assert (CHART_DIR / "files" / "crds" / source.name).read_text() == source.read_text()


def test_chart_version_and_app_version_follow_the_package_version() -> None:
    package = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    metadata = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    assert (metadata["version"], metadata["appVersion"]) == (package, package)


def _fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str | None]]:
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        yield path, field.description
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            yield from _fields(field.annotation, f"{path}.")


def test_every_value_is_documented() -> None:
    undocumented = [path for path, description in _fields(ChartValues) if not description]
    assert undocumented == []


def test_values_yaml_holds_the_models_defaults_each_under_its_description() -> None:
    text = (CHART_DIR / "values.yaml").read_text()
    assert yaml.safe_load(text) == ChartValues().model_dump(by_alias=True)
    assert "# the operator Deployment\noperator:\n" in text
    assert (
        "  # replicas; one reconciles (Lease kubescim-operator), the others stand by\n  replicas: 2\n" in text
    )


def test_the_loaded_chart_carries_the_generated_schema() -> None:
    assert chart().schema == generate.schema()
