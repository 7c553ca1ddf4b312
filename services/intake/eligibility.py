"""Periodic work of the intake service: 271s collected from the clearinghouse while the service runs.

Each answer is stored on the check it traces back to and the file acknowledged (`service.collect_answers`);
the runtime runs the round with its one backoff policy.
"""

from __future__ import annotations

from services.intake.service import collect_answers
from services.intake.settings import EligibilitySettings
from shared.periodic import Periodic
from shared.service import ServiceRuntime

MAX_BACKOFF_S = 60.0


def collecting(runtime: ServiceRuntime) -> Periodic | None:
    """Collect 271s from the clearinghouse for as long as the service runs."""
    settings = runtime.settings_of(EligibilitySettings)
    if not settings.run_collecting:
        return None

    async def collect_round() -> None:
        await collect_answers(runtime.sessions, runtime.clearinghouse)

    return Periodic("eligibility-collecting", settings.collect_interval_s, collect_round, MAX_BACKOFF_S)
