"""Settings of the intake service, read from the environment once per runtime (`runtime.settings_of`)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class EligibilitySettings(BaseSettings):
    """``CLAIMFLOW_ELIGIBILITY_*``: the 270's envelope identities and the 271 collector's pace."""

    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_ELIGIBILITY_", env_file=".env", extra="ignore")

    sender_id: str = "CLAIMFLOW"
    receiver_id: str = "SANDBOXCH"
    originator_id: str = "1999999999"
    """TRN03: "1" and the submitter's EIN."""
    usage: str = "T"
    run_collecting: bool = True
    collect_interval_s: float = 2.0
