"""`claimflow up --replicas SERVICE=N`: repeated or comma-separated, every service 1 unless named."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.services import MAX_REPLICAS, SERVICE_NAMES, ReplicasError, parse_replicas


def test_no_replicas_named_runs_one_of_each() -> None:
    assert parse_replicas([]) == dict.fromkeys(SERVICE_NAMES, 1)


def test_repeated_and_comma_separated_values_add_up() -> None:
    counts = parse_replicas(["claims=2", "remittance=3, denials=2", "claims=4"])
    assert counts == {"intake": 1, "claims": 4, "remittance": 3, "denials": 2, "notifications": 1}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("claim=2", "no service 'claim'"),
        ("claims", "write SERVICE=N"),
        ("claims=two", "write SERVICE=N"),
        ("claims=0", f"between 1 and {MAX_REPLICAS}"),
        (f"claims={MAX_REPLICAS + 1}", f"between 1 and {MAX_REPLICAS}"),
    ],
)
def test_a_wrong_value_says_what_is_wrong(value: str, says: str) -> None:
    with pytest.raises(ReplicasError, match=says):
        parse_replicas([value])


def test_up_refuses_a_wrong_value_before_starting_anything() -> None:
    result = CliRunner().invoke(app, ["up", "--replicas", "claim=2"])
    assert result.exit_code == 2
    assert "no service 'claim'" in result.output
