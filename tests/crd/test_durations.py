"""The duration grammar the CLI, the CRD and the operator share."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from scim_server.crd.durations import PATTERN, parse_duration
from scim_server.crd.spec import grace_period, rotation_period
from tests.support.durations import INVALID, VALID

CRD = Path(__file__).resolve().parents[2] / "crds" / "kubescim.io_scimdirectories.yaml"


@pytest.mark.parametrize(("text", "seconds"), VALID)
def test_valid_durations_parse_to_their_length(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", INVALID)
def test_invalid_durations_are_refused_with_the_grammar_in_the_message(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .*whole days first"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "seconds"), VALID)
def test_the_token_policy_reads_durations_through_the_same_grammar(text: str, seconds: float) -> None:
    policy = {"tokenPolicy": {"gracePeriod": text, "rotationPeriod": text}}
    assert grace_period(policy) == timedelta(seconds=seconds)
    assert rotation_period(policy) == timedelta(seconds=seconds)


def test_grace_period_defaults_to_24h_and_rotation_to_never() -> None:
    assert grace_period({}) == timedelta(hours=24)
    assert rotation_period({"tokenPolicy": {}}) is None


def test_the_crd_schema_spells_the_same_pattern() -> None:
    crd = yaml.safe_load(CRD.read_text())
    policy = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
        "tokenPolicy"
    ]
    for field in ("gracePeriod", "rotationPeriod"):
        assert policy["properties"][field]["pattern"] == PATTERN
    for rule in policy["x-kubernetes-validations"]:
        assert PATTERN.replace("\\", "\\\\") in rule["rule"]


@pytest.mark.parametrize("text", [t for t, _ in VALID] + INVALID)
def test_the_python_pattern_and_parser_agree(text: str) -> None:
    matched = re.match(PATTERN, text) is not None
    try:
        parse_duration(text)
    except ValueError:
        parsed = False
    else:
        parsed = True
    assert matched == parsed
