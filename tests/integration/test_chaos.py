"""The chaos run, short: while a practice's encounters and remittances flow, each service is SIGKILLed and
restarted once; afterwards every encounter has one claim, every payment posted once, every ledger balances,
every event was applied once by each consumer group and no outbox row is left. (`bench/chaos.py` runs it at
10,000 encounters with several rounds and restarts of the broker and Postgres.)"""

from __future__ import annotations

import pytest

from tests.support.chaos import ChaosPlan, run_chaos
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.integration


@pytest.mark.timeout(900)  # five restarts, each a process start and migration check; minutes on a loaded machine
async def test_every_service_killed_once_mid_flow_leaves_the_books_exact(
    pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory
) -> None:
    report = await run_chaos(
        pipeline, tmp_path_factory.mktemp("chaos"), ChaosPlan(encounters=120, kill_rounds=1, pause_s=(0.5, 1.5))
    )
    assert len([a for a in report.actions if "SIGKILL" in a]) == 5
    assert report.encounters == 120 and report.claims >= 120
    assert report.payments_posted > 0 and report.events_on_topics > 0
    assert report.problems() == []
