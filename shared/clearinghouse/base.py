"""The clearinghouse adapter contract: what the services need from any transport.

A clearinghouse is a mailbox in each direction. We put 837 (and 276/270) files in its
outbound box; it leaves 999, 277CA, 835, 271 and 277 files in our inbound box. Every
transport (a shared folder, SFTP, the sandbox through a folder) offers the same three calls:

- ``submit`` writes one file so that the other side never sees it half written, and is
  idempotent: submitting the same name with the same bytes again is a no-op that returns
  the same receipt, while the same name with other bytes is refused.
- ``fetch_inbound`` lists and reads every complete file waiting for us, oldest name first.
- ``acknowledge`` moves a fetched file out of the inbound box (into an archive), so the
  next ``fetch_inbound`` does not return it again. Callers acknowledge only after they have
  stored what the file said, so a crash in between means the file is read again, never lost.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.x12 import X12Error, tokenize

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
TEMPORARY_SUFFIX = ".part"
"""Files are written under this suffix (or a leading dot) and renamed when complete; readers skip them."""


class SubmissionConflictError(Exception):
    """A file of that name was already submitted with different content."""


class InboundKind(StrEnum):
    """What an inbound file is, from its GS08/ST01/ST03."""

    FUNCTIONAL_ACK_999 = "999"
    CLAIM_ACK_277CA = "277CA"
    REMITTANCE_835 = "835"
    ELIGIBILITY_271 = "271"
    CLAIM_STATUS_277 = "277"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class SubmissionReceipt:
    """Proof that a file left us: where it went, when, and a digest of exactly what was sent."""

    file_name: str
    location: str
    size_bytes: int
    sha256: str
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class InboundFile:
    """One complete file from the clearinghouse; ``location`` is the adapter's handle for ``acknowledge``."""

    file_name: str
    location: str
    kind: InboundKind
    content: bytes = field(repr=False)
    sha256: str


class ClearinghouseAdapter(ABC):
    """Transport to one clearinghouse. Implementations must never log file content or credentials."""

    @abstractmethod
    async def submit(self, file_name: str, content: bytes) -> SubmissionReceipt:
        """Deliver one outbound file atomically; see the module docstring for idempotency."""

    @abstractmethod
    async def fetch_inbound(self) -> list[InboundFile]:
        """Every complete inbound file not yet acknowledged, sorted by file name."""

    async def fetch_inbound_of(self, kinds: Collection[InboundKind]) -> list[InboundFile]:
        """The inbound files of `kinds` only: services sharing one inbound box each take their own."""
        return [inbound for inbound in await self.fetch_inbound() if inbound.kind in kinds]

    @abstractmethod
    async def acknowledge(self, inbound: InboundFile) -> None:
        """Take ``inbound`` out of the inbound box so it is never fetched again."""

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections; the adapter may be used again afterwards (it reconnects)."""

    async def __aenter__(self) -> ClearinghouseAdapter:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


def check_file_name(file_name: str) -> str:
    """A plain file name (letters, digits, ``._-``), never a path: refuses ``../x``, ``a/b``, hidden names."""
    if not isinstance(file_name, str) or not _SAFE_NAME.fullmatch(file_name) or file_name.endswith(TEMPORARY_SUFFIX):
        raise ValueError(
            f"file name {file_name!r} must be 1-200 letters, digits, '.', '_' or '-', start with a letter or digit "
            f"and not end with {TEMPORARY_SUFFIX!r}"
        )
    return file_name


def is_complete_name(file_name: str) -> bool:
    """False for the temporary names writers use before their atomic rename."""
    return not file_name.startswith(".") and not file_name.endswith(TEMPORARY_SUFFIX)


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def classify_x12(content: bytes) -> InboundKind:
    """The kind of an inbound X12 file from its first GS and ST; UNKNOWN when it is not readable X12.

    Control characters are let through: an 835 with a NUL byte is still the remittance service's to
    refuse and record, not a file nobody takes."""
    try:
        segments = tokenize(content, check_characters=False)
    except X12Error:
        return InboundKind.UNKNOWN
    version = ""
    for segment in segments:
        if segment.id == "GS":
            version = segment.element(8)
        elif segment.id == "ST":
            transaction = segment.element(1)
            implementation = segment.element(3) or version
            if transaction == "277":
                if implementation.startswith("005010X214"):
                    return InboundKind.CLAIM_ACK_277CA
                return InboundKind.CLAIM_STATUS_277
            return _BY_TRANSACTION.get(transaction, InboundKind.UNKNOWN)
    return InboundKind.UNKNOWN


_BY_TRANSACTION = {
    "999": InboundKind.FUNCTIONAL_ACK_999,
    "835": InboundKind.REMITTANCE_835,
    "271": InboundKind.ELIGIBILITY_271,
}
