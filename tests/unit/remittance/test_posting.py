"""Posting arithmetic: facts read from an 835, ledger entries, reversals, denials, who pays next."""

from __future__ import annotations

import datetime as dt
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from services.remittance.domain.posting import (
    PaidLine,
    PostingResult,
    StoredEntry,
    SubmittedClaim,
    SubmittedLine,
    charge_entry,
    claim_balance,
    denial_of,
    facts_from_json,
    facts_to_json,
    match_lines,
    payment_entries,
    provider_entries,
    read_claim_payments,
    reversal_entries,
)
from services.remittance.domain.x12_835 import parse_835
from tests.support.synthetic_835 import FULL_BODY, MINIMAL_BODY, enveloped

TODAY = dt.date(2026, 2, 1)
PATIENT = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _submitted(ccn: str, charge: int, lines: tuple[SubmittedLine, ...] = ()) -> SubmittedClaim:
    return SubmittedClaim(uuid.uuid4(), ccn, "SYNTHPAYER", PATIENT, charge, "USD", lines)


def _post(facts, claim: SubmittedClaim):  # type: ignore[no-untyped-def]
    payment_id = uuid.uuid4()
    return payment_id, payment_entries(facts, payment_id=payment_id, claim_id=claim.claim_id, patient_id=PATIENT)


def test_minimal_payment_posts_paid_and_patient_responsibility_and_balances_to_zero() -> None:
    claim = _submitted("SYN-MIN-1", 12000)
    (facts,) = read_claim_payments(parse_835(enveloped(MINIMAL_BODY)), today=TODAY, submitted={"SYN-MIN-1": claim})
    assert facts.key.trace_number == "CHK0001" and facts.key.occurrence == 1
    assert facts.paid_date == dt.date(2026, 1, 5)
    assert facts.patient_responsibility_cents == 2000
    assert facts.next_responsible == "patient"
    _, entries = _post(facts, claim)
    claim_entries = [charge_entry(claim.claim_id, 12000)] + [e for e in entries if e.account_type == "claim"]
    balance = claim_balance((e.kind, e.amount_cents) for e in claim_entries)
    assert (balance.charge_cents, balance.paid_cents, balance.patient_responsibility_cents) == (12000, 10000, 2000)
    assert balance.open_cents == 0 and balance.balanced
    assert [(e.account_id, e.amount_cents) for e in entries if e.account_type == "patient"] == [(str(PATIENT), 2000)]
    assert len({e.source_key for e in entries}) == len(entries)


def test_full_file_occurrences_lines_denials_and_provider_adjustments() -> None:
    advices = parse_835(enveloped(FULL_BODY))
    claim_1 = _submitted(
        "SYN-CLAIM-1",
        105000,
        (
            SubmittedLine(1, "LINE-2", "0450", (), 40000),
            SubmittedLine(2, "LINE-1", "99213", ("25", "59"), 60000),
        ),
    )
    facts = read_claim_payments(advices, today=TODAY, submitted={"SYN-CLAIM-1": claim_1})
    assert [f.key.claim_control_number for f in facts] == ["SYN-CLAIM-1", "SYN-CLAIM-2", "SYN-CLAIM-3"]
    first, denied, reversal = facts
    assert [line.line_number for line in first.lines] == [2, 1], "REF*6R decides, not the order"
    assert first.next_responsible == "secondary_payer", "NM1*TT crossover carrier"
    assert {"N130", "M15", "MA01", "MA02"} <= set(first.remark_codes)
    assert reversal.is_reversal and reversal.next_responsible == "none"
    assert denial_of(reversal) is None
    full = denial_of(denied)
    assert full is not None and full.scope == "full" and full.denied_cents == 25000
    assert full.carcs == ("16", "18", "29", "50", "96", "97")
    assert denial_of(first) is None, "contractual (45) and sequestration (253) are not denials"
    (plb,) = [provider_entries(advice) for advice in advices]
    assert [(e.carc, e.amount_cents, e.account_id) for e in plb] == [
        ("WO", -2500, "1234567893"),
        ("L6", 500, "1234567893"),
    ]
    assert len({e.source_key for e in plb}) == 2


def test_a_line_not_paid_for_want_of_authorization_is_a_partial_denial() -> None:
    body = """
BPR*I*100.00*C*CHK************20260105~
TRN*1*CHK0002*1999999999~
N1*PR*SYNTHETIC HEALTH PLAN~
N1*PE*SYNTHETIC CLINIC*XX*1234567893~
LX*1~
CLP*SYN-PART-1*1*150.00*100.00**12*PAYERCCN7~
SVC*HC:99212*120.00*100.00**1~
CAS*CO*45*20.00~
SVC*HC:87880:QW*30.00*0**1~
CAS*CO*197*30.00~
LQ*HE*N54~
"""
    claim = _submitted("SYN-PART-1", 15000, (SubmittedLine(1, None, "99212", (), 12000),))
    (facts,) = read_claim_payments(parse_835(enveloped(body)), today=TODAY, submitted={"SYN-PART-1": claim})
    denial = denial_of(facts)
    assert denial is not None and denial.scope == "partial"
    assert (denial.denied_cents, denial.carcs, denial.rarcs) == (3000, ("197",), ("N54",))
    assert [(line.line_number, line.procedure_code) for line in denial.lines] == [(None, "87880")]
    assert facts.next_responsible == "none"


def test_a_reversal_negates_every_entry_of_the_original() -> None:
    claim = _submitted("SYN-MIN-1", 12000)
    (facts,) = read_claim_payments(parse_835(enveloped(MINIMAL_BODY)), today=TODAY, submitted={"SYN-MIN-1": claim})
    _, entries = _post(facts, claim)
    stored = [
        StoredEntry(i, e.account_type, e.account_id, e.kind, e.amount_cents, e.group_code, e.carc, e.line_number)
        for i, e in enumerate(entries, start=1)
    ]
    undone = reversal_entries(stored)
    assert [e.reversal_of for e in undone] == [1, 2, 3]
    totals: dict[tuple[str, str, str], int] = {}
    for entry in [*entries, *undone]:
        key = (entry.account_type, entry.account_id, entry.kind)
        totals[key] = totals.get(key, 0) + entry.amount_cents
    assert set(totals.values()) == {0}


def test_facts_survive_the_round_trip_through_storage() -> None:
    for facts in read_claim_payments(parse_835(enveloped(FULL_BODY)), today=TODAY):
        assert facts_from_json(facts_to_json(facts)) == facts


def test_lines_match_by_control_number_then_procedure_and_modifiers_once_each() -> None:
    def paid(code: str, modifiers: tuple[str, ...] = (), control: str | None = None) -> PaidLine:
        return PaidLine(None, code, modifiers, 100, 100, (), control)

    ours = (
        SubmittedLine(1, "A", "99213", ("25",), 100),
        SubmittedLine(2, "B", "87880", ("QW",), 100),
        SubmittedLine(3, "C", "87880", ("QW",), 100),
    )
    assert match_lines([paid("87880", ("QW",)), paid("X", control="A"), paid("87880", ("QW",))], ours) == (2, 1, 3)
    assert match_lines([paid("87880", ("QW",)), paid("87880", ("QW",)), paid("87880", ("QW",))], ours) == (2, 3, None)
    assert match_lines([paid("99213", ("59",))], ours) == (None,)


def test_lines_with_a_faulty_procedure_match_by_control_number_else_by_their_order() -> None:
    def faulty(code: str = "", control: str | None = None) -> PaidLine:
        return PaidLine(None, code, (), 100, 100, (), control, match_by_order=True)

    ours = (
        SubmittedLine(1, "A", "99213", (), 100),
        SubmittedLine(2, "B", "87880", ("QW",), 100),
        SubmittedLine(3, "C", "36415", (), 100),
    )
    assert match_lines([faulty(), faulty("87880"), faulty()], ours) == (1, 2, 3)
    assert match_lines([faulty(control="C"), faulty(), faulty()], ours) == (3, 2, None), "line 3 is taken by REF*6R"
    assert match_lines([faulty("99213"), faulty(), faulty(), faulty()], ours) == (1, 2, 3, None)
    assert match_lines([faulty("36415")], ours) == (1,), "never by its (unreliable) procedure code"


def test_a_faulty_line_is_matched_by_order_through_the_parser_and_storage() -> None:
    body = MINIMAL_BODY.replace("SVC*HC:99212", "SVC*HC>99212")
    (facts,) = read_claim_payments(parse_835(enveloped(body)), today=TODAY)
    assert [line.match_by_order for line in facts.lines] == [True]
    assert facts_from_json(facts_to_json(facts)) == facts


def test_repeated_claim_in_one_trace_gets_a_new_occurrence() -> None:
    body = MINIMAL_BODY.replace("BPR*I*100.00", "BPR*I*200.00") + MINIMAL_BODY.split("LX*1~", 1)[1]
    facts = read_claim_payments(parse_835(enveloped(body)), today=TODAY)
    assert [f.key.occurrence for f in facts] == [1, 2]


_GROUPS = st.sampled_from(["CO", "OA", "PI", "PR"])
_CARCS = st.sampled_from(["1", "2", "3", "45", "16", "96", "253", "23"])


@st.composite
def _service_line(draw: st.DrawFn) -> tuple[int, int, list[tuple[str, str, int]]]:
    charge = draw(st.integers(min_value=1, max_value=5_000_00))
    paid = draw(st.integers(min_value=0, max_value=charge))
    rest = charge - paid
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=rest), max_size=3)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, rest], strict=True)]
    adjustments = [(draw(_GROUPS), draw(_CARCS), part) for part in parts if part]
    return charge, paid, adjustments


def _amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _remittance(claims: list[list[tuple[int, int, list[tuple[str, str, int]]]]]) -> str:
    segments = []
    total = 0
    for number, lines in enumerate(claims, start=1):
        charge = sum(line[0] for line in lines)
        paid = sum(line[1] for line in lines)
        total += paid
        segments.append(f"CLP*PROP-{number}*1*{_amount(charge)}*{_amount(paid)}**12*PCN{number}")
        for index, (line_charge, line_paid, adjustments) in enumerate(lines, start=1):
            segments.append(f"SVC*HC:9921{index}*{_amount(line_charge)}*{_amount(line_paid)}**1")
            segments += [f"CAS*{group}*{carc}*{_amount(amount)}" for group, carc, amount in adjustments]
            segments.append(f"REF*6R*L{index}")
    head = [f"BPR*I*{_amount(total)}*C*CHK************20260105", "TRN*1*PROPTRACE*1999999999", "N1*PR*SYNTH PAYER"]
    head += ["N1*PE*SYNTH CLINIC*XX*1234567893", "LX*1"]
    return enveloped("~".join(head + segments) + "~")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_service_line(), min_size=1, max_size=4), min_size=1, max_size=5))
def test_any_posted_remittance_leaves_every_claim_ledger_balanced_and_a_reversal_undoes_it(
    claims: list[list[tuple[int, int, list[tuple[str, str, int]]]]],
) -> None:
    advices = parse_835(_remittance(claims))
    submitted = {
        f"PROP-{n}": _submitted(
            f"PROP-{n}",
            sum(line[0] for line in lines),
            tuple(SubmittedLine(i, f"L{i}", f"9921{i}", (), line[0]) for i, line in enumerate(lines, start=1)),
        )
        for n, lines in enumerate(claims, start=1)
    }
    patient_total = 0
    for facts in read_claim_payments(advices, today=TODAY, submitted=submitted):
        claim = submitted[facts.key.claim_control_number]
        _, entries = _post(facts, claim)
        claim_entries = [charge_entry(claim.claim_id, claim.total_charge_cents)] + [
            e for e in entries if e.account_type == "claim"
        ]
        balance = claim_balance((e.kind, e.amount_cents) for e in claim_entries)
        assert balance.balanced and balance.open_cents == 0
        assert balance.paid_cents == facts.paid_cents
        assert all(e.line_number is not None for e in entries if e.kind != "payment")
        patient = [e.amount_cents for e in entries if e.account_type == "patient"]
        assert sum(patient) == facts.patient_responsibility_cents == balance.patient_responsibility_cents
        patient_total += sum(patient)
        stored = [
            StoredEntry(i, e.account_type, e.account_id, e.kind, e.amount_cents, e.group_code, e.carc, e.line_number)
            for i, e in enumerate(entries, start=1)
        ]
        undone = claim_balance(
            (e.kind, e.amount_cents)
            for e in claim_entries + [r for r in reversal_entries(stored) if r.account_type == "claim"]
        )
        assert undone.balanced and undone.open_cents == claim.total_charge_cents and undone.paid_cents == 0
    assert patient_total >= 0


def test_a_posting_result_is_stored_as_the_json_answered_before_and_reads_back_unchanged() -> None:
    """Files posted before results were typed hold this JSON: the same content sent again answers it."""
    stored = {
        "remittance_id": "6f1c0b8e-8f7e-4d4c-9a55-2f1f3c6f1a10",
        "transactions": 2,
        "claim_payments": 3,
        "posted": 2,
        "suspended": 1,
        "duplicates": 0,
        "provider_adjustments_posted": 1,
        "paid_cents": 12345,
        "currency": "USD",
        "trace_numbers": ["T1", "T2"],
    }
    result = PostingResult.from_json(stored)
    assert result.remittance_id == uuid.UUID(stored["remittance_id"]) and result.trace_numbers == ("T1", "T2")
    assert result.to_json() == stored


def test_an_unmatched_payment_keeps_the_member_ids_its_835_names_and_a_matched_one_none() -> None:
    advices = parse_835(enveloped(FULL_BODY))
    unmatched = read_claim_payments(advices, today=TODAY)
    assert unmatched[0].member_ids == ("SYN000001", "SYN000002"), "QC and IL with MI; NM1*74 names no id here"
    matched = read_claim_payments(advices, today=TODAY, submitted={"SYN-CLAIM-1": _submitted("SYN-CLAIM-1", 105000)})
    assert matched[0].member_ids == ()


def test_an_ssn_in_nm1_qc_is_not_taken_for_a_member_id() -> None:
    body = MINIMAL_BODY.replace("NM1*QC*1*TESTPATIENT*ETA~", "NM1*QC*1*TESTPATIENT*ETA****34*999999999~")
    assert body != MINIMAL_BODY
    (facts,) = read_claim_payments(parse_835(enveloped(body)), today=TODAY)
    assert facts.member_ids == ()
