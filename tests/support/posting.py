"""An 835 posted in the test's own process, as the remittance service posts an upload: parsed, then posted in the
caller's transaction (so a test can hold that transaction open while something else runs)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.app import DEFINITION as REMITTANCE
from services.remittance.domain.posting import PostingResult
from services.remittance.service import parse_remittance, post_remittance
from shared.messaging.outbox import Outbox
from shared.patient_match import MemberDigest

REMITTANCE_OUTBOX = Outbox(REMITTANCE.messaging.outbox, source="/claimflow/remittance")


async def post_file(
    session: AsyncSession, *, tenant: str, body: bytes, member_key: bytes = b"test patient-match key"
) -> tuple[PostingResult, bool]:
    """`post_remittance` of `body` for `tenant`: `(result, created)`."""
    return await post_remittance(
        session,
        REMITTANCE_OUTBOX,
        tenant=tenant,
        body=body,
        advices=parse_remittance(body),
        member_digest=MemberDigest(member_key),
    )
