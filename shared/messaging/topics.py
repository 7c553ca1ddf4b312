"""Kafka topics of the pipeline; every topic has a dead-letter twin `<topic>.dlt`."""

from __future__ import annotations

from dataclasses import dataclass

DLT_SUFFIX = ".dlt"


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    partitions: int
    description: str

    @property
    def dead_letter(self) -> str:
        return self.name + DLT_SUFFIX


ENCOUNTER_CODED = Topic("encounter-coded", 6, "A coded encounter accepted by intake, ready to bill.")
CLAIM_SUBMITTED = Topic("claim-submitted", 6, "A claim sent to the clearinghouse in an 837 batch.")
PAYMENT_RECEIVED = Topic("payment-received", 6, "A claim payment posted from an 835 remittance.")
CLAIM_DENIED = Topic("claim-denied", 6, "A claim or line denied in full or in part by the payer.")
CLAIM_STATUS = Topic(
    "claim-status", 6, "A claim moved through its lifecycle after submission (acknowledged, rejected, paid, denied)."
)
PATIENT_ACCOUNT = Topic(
    "patient-account",
    6,
    "A patient's own account changed: a payment submitted or posted, a payment plan made (keyed by patient id).",
)

CLAIM_CORRECTIONS = Topic(
    "claim-corrections", 6, "Denials asks claims for a corrected (frequency 7) or void (frequency 8) claim."
)
LEDGER_ADJUSTMENTS = Topic(
    "ledger-adjustments", 6, "Denials asks remittance to write a claim's balance off or move it to the patient."
)
DENIAL_APPEALS = Topic("denial-appeals", 6, "Appeals filed by the denials service, with their codes and amounts.")

PARTY_CHANGES = Topic(
    "party-changes",
    6,
    "A registered patient, coverage, provider, payer or facility was corrected (keyed by its id); claims "
    "re-scrubs the held claims that name it.",
)
CLAIM_CHANGES = Topic(
    "claim-changes",
    6,
    "Billing staff changed a claim in a way intake must follow: a member id corrected on a claim (the coverage "
    "takes it), a claim cancelled before submission (its encounter is cancelled too).",
)

CORE_TOPICS: tuple[Topic, ...] = (
    ENCOUNTER_CODED,
    CLAIM_SUBMITTED,
    PAYMENT_RECEIVED,
    CLAIM_DENIED,
    CLAIM_STATUS,
    PATIENT_ACCOUNT,
    CLAIM_CORRECTIONS,
    LEDGER_ADJUSTMENTS,
    DENIAL_APPEALS,
    PARTY_CHANGES,
    CLAIM_CHANGES,
)


DEAD_LETTER_DECISIONS = Topic(
    "dead-letter-decisions",
    1,
    "What operators did with each dead letter (`claimflow dlt replay|discard`): replayed to a group or discarded "
    "with a reason, keyed by `<topic>.dlt:<partition>:<offset>`. Read by the CLI and the console only.",
)
REPLAY_GROUP_HEADER = "dlt-replay-group"
"""On a replayed dead letter: the one consumer group it is for; every other group skips it."""


def all_topic_names() -> list[tuple[str, int]]:
    """Every topic to create, with its partition count: the core topics and their dead-letter twins, and the
    dead-letter decisions."""
    names: list[tuple[str, int]] = []
    for topic in CORE_TOPICS:
        names.append((topic.name, topic.partitions))
        names.append((topic.dead_letter, 1))
    names.append((DEAD_LETTER_DECISIONS.name, DEAD_LETTER_DECISIONS.partitions))
    return names
