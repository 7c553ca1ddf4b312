"""The sandbox as a separate clearinghouse behind a file-drop folder, reached through the claims adapter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sandbox.clearinghouse import FolderClearinghouse
from services.claims.domain.acknowledgments import parse_277ca, parse_999
from shared.clearinghouse import FileDropAdapter, InboundKind
from tests.support.sandbox_837 import RECEIVED_AT, professional, x12_837

ROOT = Path(__file__).resolve().parents[3]


async def test_submit_answer_fetch_acknowledge(tmp_path: Path) -> None:
    adapter = FileDropAdapter(tmp_path)
    await adapter.submit("batch-1.x12", x12_837(professional("PCN-1-PAID"), professional("PCN-2-D97")))
    written = FolderClearinghouse(tmp_path).process_once(RECEIVED_AT)
    assert written == ["batch-1.1-ack.999", "batch-1.2-7001-7001.277CA", "batch-1.3-SYN01.835"]
    assert list((tmp_path / "outbound").iterdir()) == []  # the sandbox took the 837
    assert (tmp_path / ".sandbox" / "received" / "batch-1.x12").exists()

    inbound = await adapter.fetch_inbound()
    assert [f.kind for f in inbound] == [
        InboundKind.FUNCTIONAL_ACK_999,
        InboundKind.CLAIM_ACK_277CA,
        InboundKind.REMITTANCE_835,
    ]
    ack_999 = next(f for f in inbound if f.kind is InboundKind.FUNCTIONAL_ACK_999)
    assert parse_999(ack_999.content)[0].transaction_sets[0].accepted
    (report,) = parse_277ca(inbound[1].content)
    assert [c.claim_control_number for c in report.claims] == ["PCN-1-PAID", "PCN-2-D97"]
    for received in inbound:
        await adapter.acknowledge(received)
    assert await adapter.fetch_inbound() == []
    assert FolderClearinghouse(tmp_path).process_once(RECEIVED_AT) == []  # nothing is answered twice


async def test_a_file_sent_again_after_it_was_taken_is_not_adjudicated_twice(tmp_path: Path) -> None:
    """A sender killed between submitting and recording the submission sends the same file again: the
    clearinghouse takes a file once by name, so its claims are not paid twice."""
    adapter = FileDropAdapter(tmp_path)
    content = x12_837(professional("PCN-1-PAID"))
    await adapter.submit("batch-1.x12", content)
    assert len(FolderClearinghouse(tmp_path).process_once(RECEIVED_AT)) == 3
    await adapter.submit("batch-1.x12", content)
    assert FolderClearinghouse(tmp_path).process_once(RECEIVED_AT) == []
    assert (tmp_path / ".sandbox" / "duplicates" / "batch-1.x12").exists()
    assert len(list((tmp_path / "inbound").glob("*.835"))) == 1

    await adapter.submit("batch-2.x12", x12_837(professional("PCN-2-PAID")))
    assert len(FolderClearinghouse(tmp_path).process_once(RECEIVED_AT)) == 3, "another file is answered"


def test_sequences_survive_a_restart(tmp_path: Path) -> None:
    (tmp_path / "outbound").mkdir()
    (tmp_path / "outbound" / "a.x12").write_bytes(x12_837(professional("PCN-1")))
    FolderClearinghouse(tmp_path).process_once(RECEIVED_AT)
    assert json.loads((tmp_path / ".sandbox" / "state.json").read_text()) == {
        "next_control_number": 4,
        "next_claim_number": 2,
    }
    (tmp_path / "outbound" / "b.x12").write_bytes(x12_837(professional("PCN-2")))
    FolderClearinghouse(tmp_path).process_once(RECEIVED_AT)
    assert b"*000000004*" in (tmp_path / "inbound" / "b.1-ack.999").read_bytes()


def test_unreadable_files_are_set_aside_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "outbound").mkdir()
    (tmp_path / "outbound" / "junk.x12").write_bytes(b"not an edi file")
    (tmp_path / "outbound" / ".half.x12.part").write_bytes(b"ISA")
    assert FolderClearinghouse(tmp_path).process_once(RECEIVED_AT) == []
    assert "ISA" in (tmp_path / ".sandbox" / "unreadable" / "junk.x12.txt").read_text()
    assert [p.name for p in (tmp_path / "outbound").iterdir()] == [".half.x12.part"]


def test_command_line_once(tmp_path: Path) -> None:
    (tmp_path / "outbound").mkdir()
    (tmp_path / "outbound" / "a.x12").write_bytes(x12_837(professional("PCN-1-COPAY")))
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.clearinghouse", "--folder", str(tmp_path), "--once"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 3 files" in result.stdout
    assert sorted(p.suffix for p in (tmp_path / "inbound").iterdir()) == [".277CA", ".835", ".999"]
