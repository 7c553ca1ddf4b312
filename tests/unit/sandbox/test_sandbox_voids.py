"""The sandbox payer answers a void (frequency 8) with the reversal of the claim it names, once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sandbox.clearinghouse import FolderClearinghouse, SandboxClearinghouse
from services.claims.domain.acknowledgments import parse_277ca
from services.claims.domain.claim import ClaimFrequency
from services.remittance.domain.balancing import balance_report
from services.remittance.domain.posting import read_claim_payments
from services.remittance.domain.x12_835 import parse_835
from shared.x12.pyx12_validation import validate_with_pyx12
from tests.support.sandbox_837 import RECEIVED_AT, professional, x12_837

LATER = RECEIVED_AT + timedelta(days=9)


def _answers(sandbox: SandboxClearinghouse, name: str, content: bytes, now: datetime = RECEIVED_AT) -> dict[str, bytes]:
    return {a.file_name.split(".", 1)[1]: a.content for a in sandbox.answer(name, content, now)}


def _payer_claim_number(answers: dict[str, bytes], control_number: str) -> str:
    (report,) = parse_277ca(next(content for name, content in answers.items() if name.endswith(".277CA")))
    status = report.claim(control_number)
    assert status is not None and status.payer_claim_number is not None
    return status.payer_claim_number


def _void(control_number: str, payer_claim_number: str) -> bytes:
    return x12_837(
        professional(control_number, frequency=ClaimFrequency.VOID, original_claim_number=payer_claim_number)
    )


def test_a_void_is_answered_with_the_reversal_of_the_original_payment_line_for_line() -> None:
    sandbox = SandboxClearinghouse()
    original = _answers(sandbox, "a.x12", x12_837(professional("PCN-7-COINS")))
    number = _payer_claim_number(original, "PCN-7-COINS")
    (paid,) = read_claim_payments(parse_835(original["3-SYN01.835"]), today=RECEIVED_AT.date())

    voided = _answers(sandbox, "b.x12", _void("PCN-8-VOID", number), LATER)
    assert sorted(voided) == ["1-ack.999", "2-7001-7001.277CA", "3-SYN01.835"]
    for name, content in voided.items():
        assert [str(issue) for issue in validate_with_pyx12(content)] == [], name
    advices = parse_835(voided["3-SYN01.835"])
    assert balance_report(advices) == []
    (reversal,) = read_claim_payments(advices, today=LATER.date())
    assert (reversal.key.claim_control_number, reversal.key.status_code) == ("PCN-7-COINS", "22")
    assert reversal.payer_claim_control_number == number
    assert (reversal.charge_cents, reversal.paid_cents) == (-paid.charge_cents, -paid.paid_cents)
    assert reversal.patient_responsibility_cents == -paid.patient_responsibility_cents
    assert [(a.group, a.carc, a.amount_cents) for a in reversal.adjustments] == [
        (a.group, a.carc, -a.amount_cents) for a in paid.adjustments
    ]
    (advice,) = advices
    assert advice.payment.amount_cents == 0, "a check that only takes money back pays nothing"
    (forward,) = advice.provider_adjustments
    assert (forward.reason, forward.reference, forward.amount_cents) == ("FB", number, -paid.paid_cents)

    again = _answers(sandbox, "c.x12", _void("PCN-9-VOID", number), LATER)
    assert sorted(again) == ["1-ack.999", "2-7001-7001.277CA"], "a claim is reversed once"
    unknown = _answers(sandbox, "d.x12", _void("PCN-10-VOID", "SBXNOSUCHCLAIM"), LATER)
    assert "3-SYN01.835" not in unknown


def test_a_reversal_beside_payments_in_one_check_nets_against_them(tmp_path: Path) -> None:
    (tmp_path / "outbound").mkdir()
    (tmp_path / "outbound" / "a.x12").write_bytes(x12_837(professional("PCN-1-PAID")))
    FolderClearinghouse(tmp_path).process_once(RECEIVED_AT)
    number = _payer_claim_number({"x.277CA": (tmp_path / "inbound" / "a.2-7001-7001.277CA").read_bytes()}, "PCN-1-PAID")
    # a later run (a new process) still knows what it paid
    (tmp_path / "outbound" / "b.x12").write_bytes(
        x12_837(
            professional("PCN-2-VOID", frequency=ClaimFrequency.VOID, original_claim_number=number),
            professional("PCN-3-PAID"),
        )
    )
    FolderClearinghouse(tmp_path).process_once(LATER)
    advices = parse_835((tmp_path / "inbound" / "b.3-SYN01.835").read_bytes())
    assert balance_report(advices) == []
    facts = read_claim_payments(advices, today=LATER.date())
    assert [(f.key.claim_control_number, f.key.status_code, f.paid_cents) for f in facts] == [
        ("PCN-1-PAID", "22", -15000),
        ("PCN-3-PAID", "1", 15000),
    ]
    assert advices[0].payment.amount_cents == 0 and advices[0].provider_adjustments == ()
