"""The README's configuration tables list exactly the settings the code declares.

The models are the source: each field's environment variables are derived the way
pydantic-settings reads them (``env_prefix`` + the field name upper-cased, or the
field's validation aliases instead), and the README's tables (server first, then the
operator) must name exactly those, one row per field, with the model's default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import AliasChoices, TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from scim_operator.settings import OperatorSettings
from scim_server.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Configuration reference"
MODELS: list[type[BaseSettings]] = [Settings, OperatorSettings]
"""In the order of their tables in the README."""

_CODE = re.compile(r"`([^`]*)`")


@dataclass(frozen=True)
class Row:
    variables: tuple[str, ...]
    default: str
    meaning: str


def configuration_tables(text: str) -> list[list[Row]]:
    """The tables of the README's configuration section, header rows left out."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    tables: list[list[Row]] = []
    in_table = False
    for line in text[start : end if end >= 0 else None].splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if not in_table:  # the header row; the separator row follows
            tables.append([])
            in_table = True
            continue
        if set(cells[0]) <= set("-: "):
            continue
        variable, default, meaning = cells
        tables[-1].append(Row(tuple(_CODE.findall(variable)), default, meaning))
    return tables


def environment_variables(model: type[BaseSettings], name: str, field: FieldInfo) -> tuple[str, ...]:
    """The variables pydantic-settings reads ``name`` from, in order of preference."""
    alias = field.validation_alias
    if alias is None:
        return (f"{model.model_config.get('env_prefix', '')}{name}".upper(),)
    choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
    return tuple(choice.upper() for choice in choices if isinstance(choice, str))


def rows_by_field(model: type[BaseSettings], table: list[Row]) -> tuple[dict[str, Row], list[str]]:
    """Each field's row (the one row naming exactly its variables), and what is wrong."""
    found: dict[str, Row] = {}
    problems: list[str] = []
    for name, field in model.model_fields.items():
        variables = environment_variables(model, name, field)
        rows = [row for row in table if set(row.variables) & set(variables)]
        if len(rows) != 1:
            problems.append(f"{variables[0]}: {len(rows)} rows name it")
        elif rows[0].variables != variables:
            problems.append(f"{' / '.join(rows[0].variables)}: a row of its own for each of {variables}")
        else:
            found[name] = rows[0]
    declared = {
        v for name, field in model.model_fields.items() for v in environment_variables(model, name, field)
    }
    problems += [f"{v}: no such setting" for row in table for v in row.variables if v not in declared]
    return found, problems


def default_problems(model: type[BaseSettings], table: list[Row]) -> list[str]:
    """Rows whose default is not the model's: a literal must equal it, ``None`` reads "unset"."""
    problems: list[str] = []
    for name, row in rows_by_field(model, table)[0].items():
        field = model.model_fields[name]
        if field.default is PydanticUndefined:  # a default_factory: computed, not a literal
            continue
        literal = _CODE.match(row.default)
        if field.default is None:
            if not row.default.startswith("unset"):
                problems.append(f"{row.variables[0]}: {row.default!r} should start with 'unset'")
        elif literal is None:
            problems.append(f"{row.variables[0]}: {row.default!r} should start with `{field.default}`")
        elif TypeAdapter(field.annotation).validate_strings(literal.group(1)) != field.default:
            problems.append(f"{row.variables[0]}: README {literal.group(1)!r}, model {field.default!r}")
    return problems


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text()


def test_readme_has_one_configuration_table_per_settings_model(readme: str) -> None:
    assert len(configuration_tables(readme)) == len(MODELS)


@pytest.mark.parametrize("index", range(len(MODELS)), ids=[m.__name__ for m in MODELS])
def test_table_lists_each_setting_in_a_row_of_its_own(index: int, readme: str) -> None:
    assert rows_by_field(MODELS[index], configuration_tables(readme)[index])[1] == []


@pytest.mark.parametrize("index", range(len(MODELS)), ids=[m.__name__ for m in MODELS])
def test_readme_defaults_are_the_models_defaults(index: int, readme: str) -> None:
    assert default_problems(MODELS[index], configuration_tables(readme)[index]) == []


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_setting_is_described_where_it_is_declared(model: type[BaseSettings]) -> None:
    undescribed = [name for name, field in model.model_fields.items() if not field.description]
    assert undescribed == []


def test_grouped_missing_and_unknown_rows_are_reported(readme: str) -> None:
    edited = (
        readme.replace(
            "| `KUBESCIM_OPERATOR_SERVER_SERVICE` |",
            "| `KUBESCIM_OPERATOR_SERVER_SERVICE` / `KUBESCIM_OPERATOR_SERVER_PORT` |",
        )
        .replace("| `KUBESCIM_OPERATOR_SERVER_PORT` |", "| `KUBESCIM_OPERATOR_SERVER_PROT` |")
        .replace("| `KUBESCIM_OPERATOR_MAX_WORKERS` |", "| `KUBESCIM_OPERATOR_WORKERS` |")
    )
    assert rows_by_field(OperatorSettings, configuration_tables(edited)[1])[1] == [
        "KUBESCIM_OPERATOR_SERVER_SERVICE / KUBESCIM_OPERATOR_SERVER_PORT: "
        "a row of its own for each of ('KUBESCIM_OPERATOR_SERVER_SERVICE',)",
        "KUBESCIM_OPERATOR_SERVER_SERVICE / KUBESCIM_OPERATOR_SERVER_PORT: "
        "a row of its own for each of ('KUBESCIM_OPERATOR_SERVER_PORT',)",
        "KUBESCIM_OPERATOR_MAX_WORKERS: 0 rows name it",
        "KUBESCIM_OPERATOR_SERVER_PROT: no such setting",
        "KUBESCIM_OPERATOR_WORKERS: no such setting",
    ]


def test_a_changed_default_is_reported(readme: str) -> None:
    edited = readme.replace("| `KUBESCIM_POOL_SIZE` | `4` |", "| `KUBESCIM_POOL_SIZE` | `5` |")
    edited = edited.replace(
        "| `KUBESCIM_TOKENS_FILE` | unset |", "| `KUBESCIM_TOKENS_FILE` | `tokens.yaml` |"
    )
    assert default_problems(Settings, configuration_tables(edited)[0]) == [
        "KUBESCIM_POOL_SIZE: README '5', model 4",
        "KUBESCIM_TOKENS_FILE: '`tokens.yaml`' should start with 'unset'",
    ]
