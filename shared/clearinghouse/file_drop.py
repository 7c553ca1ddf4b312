"""File-drop clearinghouse: a shared folder with ``outbound/`` (to the clearinghouse) and ``inbound/`` (to us).

Many clearinghouses (and the sandbox, ``python -m sandbox.clearinghouse``) work this way,
usually behind a sync agent. Writes are atomic: the file is written under a temporary
name in the same folder, flushed, then renamed, so the other side never reads half a file.
Acknowledged inbound files move to ``archive/``.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

from shared.clearinghouse.base import (
    TEMPORARY_SUFFIX,
    ClearinghouseAdapter,
    InboundFile,
    SubmissionConflictError,
    SubmissionReceipt,
    check_file_name,
    classify_x12,
    is_complete_name,
    sha256_hex,
)

OUTBOUND = "outbound"
INBOUND = "inbound"
ARCHIVE = "archive"


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` via a temporary sibling and a rename; the file appears whole or not at all."""
    temporary = path.with_name(f".{path.name}{TEMPORARY_SUFFIX}")
    with open(temporary, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class FileDropAdapter(ClearinghouseAdapter):
    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self.outbound = self.folder / OUTBOUND
        self.inbound = self.folder / INBOUND
        self.archive = self.folder / ARCHIVE

    def __repr__(self) -> str:
        return f"FileDropAdapter({str(self.folder)!r})"

    def _ensure_folders(self) -> None:
        for folder in (self.outbound, self.inbound, self.archive):
            folder.mkdir(parents=True, exist_ok=True)

    async def submit(self, file_name: str, content: bytes) -> SubmissionReceipt:
        check_file_name(file_name)
        return await asyncio.to_thread(self._submit, file_name, bytes(content))

    def _submit(self, file_name: str, content: bytes) -> SubmissionReceipt:
        self._ensure_folders()
        target = self.outbound / file_name
        digest = sha256_hex(content)
        if target.exists():
            if sha256_hex(target.read_bytes()) != digest:
                raise SubmissionConflictError(
                    f"{file_name} is already waiting in {self.outbound} with different content; "
                    "submit the new file under a new name"
                )
        else:
            write_atomically(target, content)
        return SubmissionReceipt(file_name, str(target), len(content), digest, datetime.now(UTC))

    async def fetch_inbound(self) -> list[InboundFile]:
        return await asyncio.to_thread(self._fetch)

    def _fetch(self) -> list[InboundFile]:
        self._ensure_folders()
        found = []
        for path in sorted(self.inbound.iterdir()):
            if not path.is_file() or not is_complete_name(path.name):
                continue
            try:
                content = path.read_bytes()
            except FileNotFoundError:  # another replica acknowledged it since the listing
                continue
            found.append(InboundFile(path.name, str(path), classify_x12(content), content, sha256_hex(content)))
        return found

    async def acknowledge(self, inbound: InboundFile) -> None:
        await asyncio.to_thread(self._acknowledge, inbound)

    def _acknowledge(self, inbound: InboundFile) -> None:
        source = Path(inbound.location)
        if source.parent.resolve() != self.inbound.resolve():
            raise ValueError(f"{inbound.file_name} was not fetched from {self.inbound}")
        self._ensure_folders()
        plain, suffixed = self.archive / inbound.file_name, self.archive / f"{inbound.file_name}.{inbound.sha256[:12]}"
        target = suffixed if plain.exists() else plain
        try:
            os.replace(source, target)
        except FileNotFoundError:
            # Another replica reading the same box acknowledged it first: archived under either name.
            if not any(
                archived.exists() and sha256_hex(archived.read_bytes()) == inbound.sha256
                for archived in (plain, suffixed)
            ):
                raise
