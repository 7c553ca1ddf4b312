"""Settings only the claims service reads (prefix CLAIMFLOW_CLAIMS_): who sends the 837s, to whom,
and how the batching loop paces itself."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.claims.domain.claim import Receiver, Submitter


class ClaimsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_CLAIMS_", env_file=".env", extra="ignore")

    submitter_id: str = Field("CLAIMFLOW", description="ISA06/GS02 and loop 1000A id.")
    submitter_name: str = "CLAIMFLOW BILLING"
    submitter_contact_name: str = "BILLING DESK"
    submitter_contact_phone: str = "5555550100"
    receiver_id: str = Field("SANDBOXCH", description="ISA08/GS03 and loop 1000B id: the clearinghouse.")
    receiver_name: str = "SANDBOX CLEARINGHOUSE"
    usage_indicator: Literal["T", "P"] = "T"
    batch_interval_s: float = 0.5
    batch_size: int = Field(2000, ge=1, description="Ready claims taken per batching transaction.")
    max_claims_per_transaction: int = Field(5000, ge=1, le=5000)
    run_batching: bool = True
    run_sending: bool = Field(
        True, description="Hand stored 837s to the clearinghouse adapter (CLAIMFLOW_CLEARINGHOUSE_*)."
    )
    send_batch: int = Field(50, ge=1, description="Stored submissions sent per round.")
    run_acknowledgments: bool = Field(True, description="Collect 999/277CA/277 files from the clearinghouse adapter.")
    acknowledgment_interval_s: float = Field(1.0, gt=0)
    run_follow_ups: bool = True
    follow_up_after_s: float = Field(
        30 * 24 * 3600.0, gt=0, description="Age since a claim's last change after which a quiet claim gets a 276."
    )
    follow_up_interval_s: float = Field(60.0, gt=0)
    follow_up_batch: int = Field(500, ge=1, le=5000, description="Quiet claims flagged per round.")

    @property
    def submitter(self) -> Submitter:
        return Submitter(
            self.submitter_name, self.submitter_id, self.submitter_contact_name, self.submitter_contact_phone
        )

    @property
    def receiver(self) -> Receiver:
        return Receiver(self.receiver_name, self.receiver_id)
