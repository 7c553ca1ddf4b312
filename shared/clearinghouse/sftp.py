"""SFTP clearinghouse (asyncssh): the same outbound/inbound mailbox on a remote server.

Uploads go to ``<outbound>/.<name>.part`` and are renamed into place, so the clearinghouse
never picks up half a file. Host keys are checked against a known_hosts file unless that is
explicitly switched off (only for local testing). The password and key passphrase are
``SecretStr`` values: they reach asyncssh and nothing else — not logs, not ``repr``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncssh
from pydantic import SecretStr

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

log = logging.getLogger("claimflow.clearinghouse.sftp")


@dataclass(frozen=True, slots=True)
class SftpConnection:
    """Where and how to log in. ``known_hosts`` None with ``check_host_key`` False disables host key checks."""

    host: str
    port: int
    username: str
    password: SecretStr | None = None
    private_key_path: Path | None = None
    private_key_passphrase: SecretStr | None = None
    known_hosts: Path | None = None
    check_host_key: bool = True
    outbound_dir: str = "outbound"
    inbound_dir: str = "inbound"
    archive_dir: str = "archive"
    connect_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.check_host_key and self.known_hosts is None:
            raise ValueError(
                "SFTP host key checking needs a known_hosts file; set one, or switch checking off for local tests only"
            )
        if self.password is None and self.private_key_path is None:
            raise ValueError("SFTP needs a password or a private key")

    def __repr__(self) -> str:
        return f"SftpConnection(host={self.host!r}, port={self.port}, username={self.username!r})"


class SftpAdapter(ClearinghouseAdapter):
    def __init__(self, connection: SftpConnection) -> None:
        self.connection = connection
        self._ssh: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SftpAdapter({self.connection!r})"

    async def _client(self) -> asyncssh.SFTPClient:
        if self._sftp is not None and self._ssh is not None and not self._ssh.is_closed():
            return self._sftp
        settings = self.connection
        options: dict[str, Any] = {
            "port": settings.port,
            "username": settings.username,
            "known_hosts": str(settings.known_hosts) if settings.check_host_key else None,
            "connect_timeout": settings.connect_timeout_s,
        }
        if settings.password is not None:
            options["password"] = settings.password.get_secret_value()
        if settings.private_key_path is not None:
            passphrase = settings.private_key_passphrase
            key = asyncssh.read_private_key(
                settings.private_key_path, passphrase.get_secret_value() if passphrase else None
            )
            options["client_keys"] = [key]
        else:
            options["client_keys"] = None
        log.info("connecting to SFTP %s:%s as %s", settings.host, settings.port, settings.username)
        self._ssh = await asyncssh.connect(settings.host, **options)
        self._sftp = await self._ssh.start_sftp_client()
        for folder in (settings.outbound_dir, settings.inbound_dir, settings.archive_dir):
            await self._sftp.makedirs(folder, exist_ok=True)
        return self._sftp

    async def close(self) -> None:
        async with self._lock:
            if self._sftp is not None:
                self._sftp.exit()
                self._sftp = None
            if self._ssh is not None:
                self._ssh.close()
                await self._ssh.wait_closed()
                self._ssh = None

    async def submit(self, file_name: str, content: bytes) -> SubmissionReceipt:
        check_file_name(file_name)
        content = bytes(content)
        digest = sha256_hex(content)
        async with self._lock:
            sftp = await self._client()
            target = posixpath.join(self.connection.outbound_dir, file_name)
            if await sftp.exists(target):
                if sha256_hex(await _read(sftp, target)) != digest:
                    raise SubmissionConflictError(
                        f"{file_name} is already waiting on the SFTP server with different content; "
                        "submit the new file under a new name"
                    )
            else:
                temporary = posixpath.join(self.connection.outbound_dir, f".{file_name}{TEMPORARY_SUFFIX}")
                async with sftp.open(temporary, "wb") as handle:
                    await handle.write(content)
                await sftp.rename(temporary, target)
        return SubmissionReceipt(file_name, f"sftp:{target}", len(content), digest, datetime.now(UTC))

    async def fetch_inbound(self) -> list[InboundFile]:
        async with self._lock:
            sftp = await self._client()
            folder = self.connection.inbound_dir
            found = []
            for entry in sorted(await sftp.readdir(folder), key=lambda entry: entry.filename):
                name = os.fsdecode(entry.filename)
                if name in (".", "..") or not is_complete_name(name):
                    continue
                if entry.attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
                    continue
                path = posixpath.join(folder, name)
                content = await _read(sftp, path)
                found.append(InboundFile(name, path, classify_x12(content), content, sha256_hex(content)))
            return found

    async def acknowledge(self, inbound: InboundFile) -> None:
        if posixpath.dirname(inbound.location) != self.connection.inbound_dir.rstrip("/"):
            raise ValueError(f"{inbound.file_name} was not fetched from {self.connection.inbound_dir}")
        async with self._lock:
            sftp = await self._client()
            target = posixpath.join(self.connection.archive_dir, inbound.file_name)
            if await sftp.exists(target):
                target = f"{target}.{inbound.sha256[:12]}"
            await sftp.rename(inbound.location, target)


async def _read(sftp: asyncssh.SFTPClient, path: str) -> bytes:
    async with sftp.open(path, "rb") as handle:
        return await handle.read()
