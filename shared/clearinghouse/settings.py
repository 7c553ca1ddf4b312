"""Which clearinghouse transport a service uses, from ``CLAIMFLOW_CLEARINGHOUSE_*`` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.clearinghouse.base import ClearinghouseAdapter
from shared.clearinghouse.file_drop import FileDropAdapter


class ClearinghouseSettings(BaseSettings):
    """``transport=file_drop`` (also how the sandbox is reached) or ``sftp``."""

    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_CLEARINGHOUSE_", env_file=".env", extra="ignore")

    transport: Literal["file_drop", "sftp"] = "file_drop"
    folder: Path = Path(".local/clearinghouse")
    sftp_host: str = "127.0.0.1"
    sftp_port: int = 22
    sftp_username: str = ""
    sftp_password: SecretStr | None = None
    sftp_private_key_path: Path | None = None
    sftp_private_key_passphrase: SecretStr | None = None
    sftp_known_hosts: Path | None = None
    sftp_check_host_key: bool = True
    sftp_outbound_dir: str = "outbound"
    sftp_inbound_dir: str = "inbound"
    sftp_archive_dir: str = "archive"


def adapter_from_settings(settings: ClearinghouseSettings) -> ClearinghouseAdapter:
    if settings.transport == "file_drop":
        return FileDropAdapter(settings.folder)
    from shared.clearinghouse.sftp import SftpAdapter, SftpConnection

    return SftpAdapter(
        SftpConnection(
            host=settings.sftp_host,
            port=settings.sftp_port,
            username=settings.sftp_username,
            password=settings.sftp_password,
            private_key_path=settings.sftp_private_key_path,
            private_key_passphrase=settings.sftp_private_key_passphrase,
            known_hosts=settings.sftp_known_hosts,
            check_host_key=settings.sftp_check_host_key,
            outbound_dir=settings.sftp_outbound_dir,
            inbound_dir=settings.sftp_inbound_dir,
            archive_dir=settings.sftp_archive_dir,
        )
    )
