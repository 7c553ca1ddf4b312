"""Clearinghouse adapters: file drop on a temporary folder, SFTP against an in-process asyncssh server."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncssh
import pytest
from pydantic import SecretStr

from shared.clearinghouse import (
    ClearinghouseSettings,
    FileDropAdapter,
    InboundKind,
    SubmissionConflictError,
    adapter_from_settings,
    check_file_name,
    classify_x12,
)
from shared.clearinghouse.sftp import SftpAdapter, SftpConnection

ISA = "ISA*00*          *00*          *ZZ*SANDBOXCH      *ZZ*CLAIMFLOW01    *250314*0930*^*00501*000000001*0*T*:~"


def _x12(functional_id: str, version: str, transaction: str) -> bytes:
    return (
        f"{ISA}GS*{functional_id}*SANDBOXCH*CLAIMFLOW01*20250314*0930*1*X*{version}~"
        f"ST*{transaction}*0001*{version}~SE*2*0001~GE*1*1~IEA*1*000000001~"
    ).encode()


ACK_999 = _x12("FA", "005010X231A1", "999")
ACK_277CA = _x12("HN", "005010X214", "277")
STATUS_277 = _x12("HN", "005010X212", "277")
REMIT_835 = _x12("HP", "005010X221A1", "835")


class TestClassify:
    @pytest.mark.parametrize(
        ("content", "kind"),
        [
            (ACK_999, InboundKind.FUNCTIONAL_ACK_999),
            (ACK_277CA, InboundKind.CLAIM_ACK_277CA),
            (STATUS_277, InboundKind.CLAIM_STATUS_277),
            (REMIT_835, InboundKind.REMITTANCE_835),
            (_x12("HB", "005010X279A1", "271"), InboundKind.ELIGIBILITY_271),
            (b"not x12 at all", InboundKind.UNKNOWN),
            (REMIT_835.replace(b"SE*2", b"SE*2\x00"), InboundKind.REMITTANCE_835),
        ],
    )
    def test_kind_from_gs_and_st(self, content: bytes, kind: InboundKind) -> None:
        assert classify_x12(content) is kind


class TestFileNames:
    @pytest.mark.parametrize("name", ["../etc/passwd", "a/b.x12", ".hidden", "", "x.part", "a b"])
    def test_paths_and_temporary_names_are_refused(self, name: str) -> None:
        with pytest.raises(ValueError, match="file name"):
            check_file_name(name)

    def test_plain_names_pass(self) -> None:
        assert check_file_name("837P_000000001.x12") == "837P_000000001.x12"


class TestFileDrop:
    async def test_submit_writes_the_whole_file_into_outbound(self, tmp_path: Path) -> None:
        adapter = FileDropAdapter(tmp_path)
        receipt = await adapter.submit("batch-1.x12", b"ISA...")
        assert (tmp_path / "outbound" / "batch-1.x12").read_bytes() == b"ISA..."
        assert receipt.size_bytes == 6
        assert receipt.location == str(tmp_path / "outbound" / "batch-1.x12")
        assert [p.name for p in (tmp_path / "outbound").iterdir()] == ["batch-1.x12"]  # no temporary left over

    async def test_resubmitting_the_same_bytes_is_a_no_op_but_other_bytes_are_refused(self, tmp_path: Path) -> None:
        adapter = FileDropAdapter(tmp_path)
        first = await adapter.submit("batch-1.x12", b"one")
        again = await adapter.submit("batch-1.x12", b"one")
        assert again.sha256 == first.sha256
        with pytest.raises(SubmissionConflictError, match="different content"):
            await adapter.submit("batch-1.x12", b"two")
        assert (tmp_path / "outbound" / "batch-1.x12").read_bytes() == b"one"

    async def test_fetch_skips_temporary_files_and_acknowledge_archives(self, tmp_path: Path) -> None:
        adapter = FileDropAdapter(tmp_path)
        inbound = tmp_path / "inbound"
        inbound.mkdir(parents=True)
        (inbound / "b.835").write_bytes(REMIT_835)
        (inbound / "a.999").write_bytes(ACK_999)
        (inbound / ".c.277.part").write_bytes(ACK_277CA)
        fetched = await adapter.fetch_inbound()
        assert [(f.file_name, f.kind) for f in fetched] == [
            ("a.999", InboundKind.FUNCTIONAL_ACK_999),
            ("b.835", InboundKind.REMITTANCE_835),
        ]
        await adapter.acknowledge(fetched[0])
        assert [f.file_name for f in await adapter.fetch_inbound()] == ["b.835"]
        assert (tmp_path / "archive" / "a.999").read_bytes() == ACK_999

    async def test_a_second_file_of_the_same_name_is_archived_beside_the_first(self, tmp_path: Path) -> None:
        adapter = FileDropAdapter(tmp_path)
        (tmp_path / "inbound").mkdir(parents=True)
        for content in (ACK_999, ACK_277CA):
            (tmp_path / "inbound" / "ack.x12").write_bytes(content)
            (fetched,) = await adapter.fetch_inbound()
            await adapter.acknowledge(fetched)
        assert len(list((tmp_path / "archive").iterdir())) == 2
        assert await adapter.fetch_inbound() == []

    def test_settings_choose_the_file_drop(self, tmp_path: Path) -> None:
        adapter = adapter_from_settings(ClearinghouseSettings(transport="file_drop", folder=tmp_path))
        assert isinstance(adapter, FileDropAdapter)
        assert adapter.folder == tmp_path


PASSWORD = "sandbox-sftp-password-canary"  # synthetic test credential


class _PasswordServer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == "claimflow" and password == PASSWORD


@pytest.fixture
async def sftp_server(tmp_path: Path):
    """An asyncssh SFTP server on 127.0.0.1, chrooted to tmp_path/remote; yields (port, root, known_hosts)."""
    root = tmp_path / "remote"
    root.mkdir()
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        server_factory=_PasswordServer,
        sftp_factory=lambda channel: asyncssh.SFTPServer(channel, chroot=str(root)),
    )
    port = server.sockets[0].getsockname()[1]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode()}")
    try:
        yield port, root, known_hosts
    finally:
        server.close()
        await server.wait_closed()


def _connection(port: int, known_hosts: Path, **overrides: object) -> SftpConnection:
    fields: dict = {
        "host": "127.0.0.1",
        "port": port,
        "username": "claimflow",
        "password": SecretStr(PASSWORD),
        "known_hosts": known_hosts,
        "connect_timeout_s": 10.0,
    }
    fields.update(overrides)
    return SftpConnection(**fields)


class TestSftp:
    async def test_round_trip_submit_fetch_acknowledge(self, sftp_server, caplog: pytest.LogCaptureFixture) -> None:
        port, root, known_hosts = sftp_server
        caplog.set_level(logging.DEBUG)
        adapter = SftpAdapter(_connection(port, known_hosts))
        try:
            receipt = await adapter.submit("batch-7.x12", b"837 bytes")
            assert (root / "outbound" / "batch-7.x12").read_bytes() == b"837 bytes"
            assert not any(p.name.endswith(".part") for p in (root / "outbound").iterdir())
            assert receipt.location == "sftp:outbound/batch-7.x12"
            assert (await adapter.submit("batch-7.x12", b"837 bytes")).sha256 == receipt.sha256
            with pytest.raises(SubmissionConflictError):
                await adapter.submit("batch-7.x12", b"other bytes")

            (root / "inbound" / "r.835").write_bytes(REMIT_835)
            (root / "inbound" / ".half.999.part").write_bytes(ACK_999)
            (fetched,) = await adapter.fetch_inbound()
            assert (fetched.file_name, fetched.kind, fetched.content) == (
                "r.835",
                InboundKind.REMITTANCE_835,
                REMIT_835,
            )
            await adapter.acknowledge(fetched)
            assert await adapter.fetch_inbound() == []
            assert (root / "archive" / "r.835").exists()
        finally:
            await adapter.close()
        assert PASSWORD not in caplog.text
        assert PASSWORD not in repr(adapter)

    async def test_an_unknown_host_key_is_refused(self, sftp_server, tmp_path: Path) -> None:
        port, root, _ = sftp_server
        other = tmp_path / "other_known_hosts"
        other.write_text(
            f"[127.0.0.1]:{port} {asyncssh.generate_private_key('ssh-ed25519').export_public_key().decode()}"
        )
        adapter = SftpAdapter(_connection(port, other))
        with pytest.raises(asyncssh.HostKeyNotVerifiable):
            await adapter.submit("x.x12", b"never sent")
        await adapter.close()
        assert not (root / "outbound").exists()

    async def test_a_wrong_password_is_refused(self, sftp_server) -> None:
        port, _, known_hosts = sftp_server
        adapter = SftpAdapter(_connection(port, known_hosts, password=SecretStr("wrong")))
        with pytest.raises(asyncssh.PermissionDenied):
            await adapter.fetch_inbound()
        await adapter.close()

    def test_host_key_checking_needs_known_hosts_unless_switched_off(self) -> None:
        with pytest.raises(ValueError, match="known_hosts"):
            SftpConnection(host="h", port=22, username="u", password=SecretStr("p"))
        SftpConnection(host="h", port=22, username="u", password=SecretStr("p"), check_host_key=False)


async def test_fetch_inbound_of_takes_only_the_kinds_asked_for(tmp_path: Path) -> None:
    adapter = FileDropAdapter(tmp_path)
    adapter.inbound.mkdir(parents=True, exist_ok=True)
    isa = b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260101*1200*^*00501*00000000%d*0*T*:~"
    (adapter.inbound / "a.999").write_bytes(isa % 1 + b"GS*FA*S*R*20260101*1200*1*X*005010X231A1~ST*999*0001~")
    (adapter.inbound / "b.835").write_bytes(isa % 2 + b"GS*HP*S*R*20260101*1200*2*X*005010X221A1~ST*835*0001~")
    kinds = {inbound.file_name: inbound.kind for inbound in await adapter.fetch_inbound()}
    assert kinds == {"a.999": InboundKind.FUNCTIONAL_ACK_999, "b.835": InboundKind.REMITTANCE_835}
    only_835 = await adapter.fetch_inbound_of({InboundKind.REMITTANCE_835})
    assert [inbound.file_name for inbound in only_835] == ["b.835"]
