"""Pure parsers of what a clearinghouse says about our 837s: the 999 and the 277CA.

- 999 implementation acknowledgment (005010X231A1): did each transaction set we sent pass
  syntax and implementation-guide checks? AK2/IK5 per transaction set, IK3/IK4 locate each
  error by segment position (ST is 1), loop, element and the bad value; AK9 sums up the group.
- 277CA claim acknowledgment (005010X214): was each claim accepted into the payer's
  adjudication system? Claims are keyed by the CLM01 we sent (echoed in TRN02 of loop
  2200D); an accepted claim usually carries the payer's claim number (REF*1K).

The 277 claim status response (005010X212) shares the 277CA's HL tree, so the same reader
serves ``claim_status_request.parse_277``.

Acknowledgments are informational: a wrong trailer count or control number in the envelope
does not hide what the file says. Such problems are kept in ``envelope_warnings``; only a
file whose segments cannot be read, or that is another transaction, raises ``X12Error``.
Patient names and member ids are not read: the claim number is the key, and the less PHI
in the claims schema the better.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.x12 import (
    X12EnvelopeError,
    X12SyntaxError,
    X12VersionError,
    parse_cents,
    read_interchanges,
    split_components,
)
from shared.x12.tokenizer import Delimiters, Segment, tokenize_file

IMPLEMENTATION_999 = "005010X231A1"
IMPLEMENTATION_277CA = "005010X214"


# --------------------------------------------------------------------------- envelopes


@dataclass(frozen=True, slots=True)
class _Transaction:
    interchange_control_number: str
    group: Segment
    header: Segment
    segments: tuple[Segment, ...]
    delimiters: Delimiters


def read_transactions(
    data: bytes | str, transaction_id: str, accepted_versions: tuple[str, ...]
) -> tuple[list[_Transaction], tuple[str, ...]]:
    """Transaction sets ``transaction_id`` of the file, and the envelope problems met on the way.

    Tries the strict envelope reader first; when it refuses only the envelope (counts,
    control numbers), reads ST..SE spans from the segments and reports why as warnings.
    """
    tokenized = tokenize_file(data)
    warnings: list[str] = []
    transactions: list[_Transaction] = []
    try:
        for interchange in read_interchanges(data):
            for group in interchange.groups:
                for transaction_set in group.transactions:
                    transactions.append(
                        _Transaction(
                            interchange.control_number,
                            group.header,
                            transaction_set.header,
                            transaction_set.segments,
                            interchange.delimiters,
                        )
                    )
    except X12EnvelopeError as exc:
        warnings.append(str(exc))
        transactions = list(_lenient_transactions(tokenized.segments, tokenized.delimiters))
    for transaction in transactions:
        _check_type(transaction, transaction_id, accepted_versions)
    return transactions, tuple(warnings)


def _lenient_transactions(segments: tuple[Segment, ...], delimiters: dict[int, Delimiters]) -> Iterator[_Transaction]:
    isa: Segment | None = None
    gs: Segment | None = None
    st: Segment | None = None
    body: list[Segment] = []
    for segment in segments:
        if segment.id == "ISA":
            isa = segment
        elif segment.id == "GS":
            gs = segment
        elif segment.id == "ST":
            st, body = segment, []
        elif segment.id == "SE":
            if st is not None and gs is not None and isa is not None:
                yield _Transaction(isa.element(13), gs, st, tuple(body), delimiters[isa.position])
            st = None
        elif st is not None:
            body.append(segment)
    if st is not None:
        raise X12EnvelopeError(
            f"transaction set {st.element(2)!r} (ST at segment {st.position}) has no SE: the file is truncated",
            segment_id="SE",
            position=segments[-1].position + 1,
        )


def _check_type(transaction: _Transaction, transaction_id: str, versions: tuple[str, ...]) -> None:
    header = transaction.header
    if header.element(1) != transaction_id:
        raise X12VersionError(
            f"ST01 {header.element(1)!r}: transaction set is not a {transaction_id}",
            segment_id="ST",
            position=header.position,
            element_index=1,
        )
    version = header.element(3) or transaction.group.element(8)
    if not version.startswith(versions):
        raise X12VersionError(
            f"{version!r} is not a supported {transaction_id} version; expected {' or '.join(versions)}",
            segment_id="ST",
            position=header.position,
            element_index=3,
        )


def _cents(segment: Segment, index: int) -> int | None:
    value = segment.element(index)
    if not value:
        return None
    try:
        return parse_cents(value)
    except ValueError:
        raise X12SyntaxError(
            f"{segment.id}{index:02d} {value!r} is not an amount",
            segment_id=segment.id,
            position=segment.position,
            element_index=index,
        ) from None


def _count(segment: Segment, index: int) -> int:
    value = segment.element(index)
    if not value.isdigit():
        raise X12SyntaxError(
            f"{segment.id}{index:02d} {value!r} is not a count",
            segment_id=segment.id,
            position=segment.position,
            element_index=index,
        )
    return int(value)


# --------------------------------------------------------------------------- 999


class AckStatus(StrEnum):
    """IK501 (transaction set) and AK901 (functional group) acknowledgment codes."""

    ACCEPTED = "A"
    ACCEPTED_WITH_ERRORS = "E"
    PARTIALLY_ACCEPTED = "P"
    REJECTED = "R"
    REJECTED_AUTHENTICATION = "M"
    REJECTED_ASSURANCE = "W"
    REJECTED_DECRYPTION = "X"

    @property
    def accepted(self) -> bool:
        return self in (AckStatus.ACCEPTED, AckStatus.ACCEPTED_WITH_ERRORS)


@dataclass(frozen=True, slots=True)
class ElementError:
    """IK4: which element of the segment, what is wrong with it (IK403), and the bad value when given."""

    element_position: str
    """IK401 as written: "2" or "5:3" (element 5, component 3)."""
    data_element_reference: str
    error_code: str
    bad_value: str
    position: int


@dataclass(frozen=True, slots=True)
class SegmentError:
    """IK3: a segment in error, by id and position in the transaction set (ST is 1), with its IK4s."""

    segment_id: str
    segment_position: int
    loop_id: str
    error_code: str
    """IK304: 1 unrecognized segment, 2 unexpected, 3 required missing, 4 loop too many, 8 has element errors..."""
    element_errors: tuple[ElementError, ...]
    claim_control_number: str | None
    """From CTX*CLM01:<claim> when the acknowledgment names the claim the error is in."""
    position: int


@dataclass(frozen=True, slots=True)
class TransactionSetAck:
    """AK2..IK5: the verdict on one transaction set we sent."""

    transaction_set_id: str
    control_number: str
    implementation: str
    status: AckStatus
    error_codes: tuple[str, ...]
    """IK502-IK506: 1 not supported, 2 trailer missing, 3 control numbers differ, 4 count wrong, 5 segment errors..."""
    segment_errors: tuple[SegmentError, ...]
    position: int

    @property
    def accepted(self) -> bool:
        return self.status.accepted


@dataclass(frozen=True, slots=True)
class FunctionalAcknowledgment:
    """One 999 transaction set: the verdict on one functional group (GS..GE) we sent."""

    control_number: str
    interchange_control_number: str
    functional_id: str
    """AK101, "HC" for 837 claims."""
    group_control_number: str
    """AK102: the GS06 of our file."""
    version: str
    status: AckStatus
    transaction_sets_included: int
    transaction_sets_received: int
    transaction_sets_accepted: int
    error_codes: tuple[str, ...]
    transaction_sets: tuple[TransactionSetAck, ...]
    envelope_warnings: tuple[str, ...]

    def transaction_set(self, control_number: str) -> TransactionSetAck | None:
        wanted = control_number.lstrip("0")
        return next((t for t in self.transaction_sets if t.control_number.lstrip("0") == wanted), None)


def parse_999(data: bytes | str) -> tuple[FunctionalAcknowledgment, ...]:
    """Every 999 in the file (one per acknowledged functional group), in file order."""
    transactions, warnings = read_transactions(data, "999", ("005010X231",))
    return tuple(_read_999(transaction, warnings) for transaction in transactions)


def _read_999(transaction: _Transaction, warnings: tuple[str, ...]) -> FunctionalAcknowledgment:
    ak1: Segment | None = None
    ak9: Segment | None = None
    sets: list[TransactionSetAck] = []
    current: dict[str, Any] | None = None
    segment_error: dict[str, Any] | None = None

    def close_segment_error() -> None:
        nonlocal segment_error
        if segment_error is not None and current is not None:
            current["segment_errors"].append(
                SegmentError(
                    segment_id=segment_error["segment"].element(1),
                    segment_position=_count(segment_error["segment"], 2),
                    loop_id=segment_error["segment"].element(3),
                    error_code=segment_error["segment"].element(4),
                    element_errors=tuple(segment_error["elements"]),
                    claim_control_number=segment_error["claim"],
                    position=segment_error["segment"].position,
                )
            )
        segment_error = None

    for segment in transaction.segments:
        segment_id = segment.id
        if segment_id == "AK1":
            ak1 = segment
        elif segment_id == "AK2":
            current = {"header": segment, "segment_errors": []}
        elif segment_id == "IK3":
            close_segment_error()
            if current is None:
                raise _out_of_place(segment, "AK2")
            segment_error = {"segment": segment, "elements": [], "claim": None}
        elif segment_id == "CTX":
            if segment_error is not None:
                context = split_components(segment.element(1), transaction.delimiters)
                if context[0] == "CLM01" and len(context) > 1:
                    segment_error["claim"] = context[1]
        elif segment_id == "IK4":
            if segment_error is None:
                raise _out_of_place(segment, "IK3")
            segment_error["elements"].append(
                ElementError(
                    element_position=segment.element(1).replace(transaction.delimiters.component, ":"),
                    data_element_reference=segment.element(2),
                    error_code=segment.element(3),
                    bad_value=segment.element(4),
                    position=segment.position,
                )
            )
        elif segment_id == "IK5":
            close_segment_error()
            if current is None:
                raise _out_of_place(segment, "AK2")
            header = current["header"]
            sets.append(
                TransactionSetAck(
                    transaction_set_id=header.element(1),
                    control_number=header.element(2),
                    implementation=header.element(3),
                    status=_status(segment, 1),
                    error_codes=tuple(code for code in segment.elements[2:7] if code),
                    segment_errors=tuple(current["segment_errors"]),
                    position=header.position,
                )
            )
            current = None
        elif segment_id == "AK9":
            ak9 = segment
    if ak1 is None or ak9 is None:
        missing = "AK1" if ak1 is None else "AK9"
        raise X12SyntaxError(
            f"the 999 (ST at segment {transaction.header.position}) has no {missing}",
            segment_id=missing,
            position=transaction.header.position,
        )
    if current is not None:
        raise X12SyntaxError(
            f"AK2 at segment {current['header'].position} has no IK5 verdict",
            segment_id="IK5",
            position=current["header"].position,
        )
    return FunctionalAcknowledgment(
        control_number=transaction.header.element(2),
        interchange_control_number=transaction.interchange_control_number,
        functional_id=ak1.element(1),
        group_control_number=ak1.element(2),
        version=ak1.element(3),
        status=_status(ak9, 1),
        transaction_sets_included=_count(ak9, 2),
        transaction_sets_received=_count(ak9, 3),
        transaction_sets_accepted=_count(ak9, 4),
        error_codes=tuple(code for code in ak9.elements[5:10] if code),
        transaction_sets=tuple(sets),
        envelope_warnings=warnings,
    )


def _status(segment: Segment, index: int) -> AckStatus:
    value = segment.element(index)
    try:
        return AckStatus(value)
    except ValueError:
        raise X12SyntaxError(
            f"{segment.id}{index:02d} {value!r} is not an acknowledgment code (A, E, P, R, M, W, X)",
            segment_id=segment.id,
            position=segment.position,
            element_index=index,
        ) from None


def _out_of_place(segment: Segment, expected: str) -> X12SyntaxError:
    return X12SyntaxError(f"{segment.id} outside an {expected} loop", segment_id=segment.id, position=segment.position)


# --------------------------------------------------------------------------- 277 / 277CA


class StatusOutcome(StrEnum):
    """What a claim status category code (STC01-1, code list 507) means for the claim."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PENDING = "pending"
    FINALIZED = "finalized"
    REQUEST_FOR_INFORMATION = "request_for_information"
    ERROR = "error"
    UNKNOWN = "unknown"


_REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8", "D0"})
_ACCEPTED_CATEGORIES = frozenset({"A0", "A1", "A2", "A5"})


def outcome_of(category: str) -> StatusOutcome:
    """A0/A1/A2/A5 accepted; A3/A4/A6/A7/A8 rejected; P* pending; F* finalized; R* info requested; E* error."""
    if category in _REJECTED_CATEGORIES:
        return StatusOutcome.REJECTED
    if category in _ACCEPTED_CATEGORIES:
        return StatusOutcome.ACCEPTED
    return {
        "P": StatusOutcome.PENDING,
        "F": StatusOutcome.FINALIZED,
        "R": StatusOutcome.REQUEST_FOR_INFORMATION,
        "E": StatusOutcome.ERROR,
    }.get(category[:1], StatusOutcome.UNKNOWN)


@dataclass(frozen=True, slots=True)
class StatusCode:
    """One STC01/STC10/STC11 composite: category (507), status (508), entity (98) when given."""

    category: str
    status: str
    entity: str = ""

    def __str__(self) -> str:
        return ":".join(part for part in (self.category, self.status, self.entity) if part)


@dataclass(frozen=True, slots=True)
class Status:
    """One STC segment."""

    codes: tuple[StatusCode, ...]
    effective_date: str
    action_code: str
    amount_cents: int | None
    paid_cents: int | None
    message: str
    position: int

    @property
    def category(self) -> str:
        return self.codes[0].category

    @property
    def outcome(self) -> StatusOutcome:
        return outcome_of(self.category)


@dataclass(frozen=True, slots=True)
class ServiceLineStatus:
    """Loop 2220D/2220E: the status of one service line (SVC, STC, REF*FJ line control number, DTP*472)."""

    procedure: str
    charge_cents: int | None
    statuses: tuple[Status, ...]
    line_control_number: str | None
    service_date: str
    position: int


@dataclass(frozen=True, slots=True)
class ClaimStatus:
    """Loop 2200D/2200E: the payer's or clearinghouse's status of one claim."""

    trace_number: str
    """TRN02: in a 277CA the CLM01 we sent; in a 277 the trace number of our 276."""
    statuses: tuple[Status, ...]
    payer_claim_number: str | None
    clearinghouse_trace_number: str | None
    patient_account_number: str | None
    """REF*EJ, the CLM01 in a 277 claim status response."""
    bill_type: str | None
    service_date: str
    billing_provider_id: str
    lines: tuple[ServiceLineStatus, ...]
    position: int

    @property
    def claim_control_number(self) -> str:
        """CLM01: REF*EJ when present (277), else TRN02 (277CA)."""
        return self.patient_account_number or self.trace_number

    @property
    def outcome(self) -> StatusOutcome:
        """Rejected when any status rejects it, else the outcome of the first status."""
        outcomes = [status.outcome for status in self.statuses]
        if StatusOutcome.REJECTED in outcomes:
            return StatusOutcome.REJECTED
        return outcomes[0] if outcomes else StatusOutcome.UNKNOWN

    @property
    def codes(self) -> tuple[StatusCode, ...]:
        return tuple(code for status in self.statuses for code in status.codes)


@dataclass(frozen=True, slots=True)
class ClaimStatusReport:
    """One 277 or 277CA transaction set."""

    control_number: str
    interchange_control_number: str
    implementation: str
    reference: str
    """BHT03."""
    created: str
    receiver_statuses: tuple[Status, ...]
    """Loop 2200B: the verdict on the whole batch for the information receiver (us)."""
    provider_statuses: tuple[tuple[str, tuple[Status, ...]], ...]
    """Loop 2200C: (billing provider id, statuses) when a provider-level status is given."""
    claims: tuple[ClaimStatus, ...]
    envelope_warnings: tuple[str, ...]

    def claim(self, claim_control_number: str) -> ClaimStatus | None:
        return next((c for c in self.claims if c.claim_control_number == claim_control_number), None)


def parse_277ca(data: bytes | str) -> tuple[ClaimStatusReport, ...]:
    """Every 277CA claim acknowledgment (005010X214) in the file."""
    return read_277(data, (IMPLEMENTATION_277CA,))


def read_277(data: bytes | str, versions: tuple[str, ...]) -> tuple[ClaimStatusReport, ...]:
    """277 transaction sets of the accepted versions (005010X214 277CA, 005010X212 status response)."""
    transactions, warnings = read_transactions(data, "277", versions)
    return tuple(_read_277(transaction, warnings) for transaction in transactions)


_CLAIM_LEVELS = frozenset({"PT", "22", "23"})


def _read_277(transaction: _Transaction, warnings: tuple[str, ...]) -> ClaimStatusReport:
    delimiters = transaction.delimiters
    bht: Segment | None = None
    level = ""
    provider_id = ""
    receiver_statuses: list[Status] = []
    provider_statuses: dict[str, list[Status]] = {}
    claims: list[ClaimStatus] = []
    claim: dict[str, Any] | None = None
    line: dict[str, Any] | None = None

    def close_line() -> None:
        nonlocal line
        if line is not None and claim is not None:
            statuses = tuple(line.pop("statuses_"))
            claim["lines"].append(ServiceLineStatus(**line, statuses=statuses))
        line = None

    def close_claim() -> None:
        nonlocal claim
        close_line()
        if claim is not None:
            claim["lines"] = tuple(claim["lines"])
            claim["statuses"] = tuple(claim["statuses"])
            claims.append(ClaimStatus(**claim))
        claim = None

    for segment in transaction.segments:
        segment_id = segment.id
        if segment_id == "BHT":
            bht = segment
        elif segment_id == "HL":
            close_claim()
            level = segment.element(3)
        elif segment_id == "NM1":
            if level == "19" and segment.element(1) in ("85", "1P"):
                provider_id = segment.element(9)
        elif segment_id == "TRN":
            if level in _CLAIM_LEVELS:
                close_claim()
                claim = {
                    "trace_number": segment.element(2),
                    "statuses": [],
                    "payer_claim_number": None,
                    "clearinghouse_trace_number": None,
                    "patient_account_number": None,
                    "bill_type": None,
                    "service_date": "",
                    "billing_provider_id": provider_id,
                    "lines": [],
                    "position": segment.position,
                }
        elif segment_id == "STC":
            status = _read_stc(segment, delimiters)
            if line is not None:
                line["statuses_"].append(status)
            elif claim is not None:
                claim["statuses"].append(status)
            elif level == "21":
                receiver_statuses.append(status)
            elif level == "19":
                provider_statuses.setdefault(provider_id, []).append(status)
        elif segment_id == "REF":
            qualifier, value = segment.element(1), segment.element(2)
            if line is not None:
                if qualifier == "FJ":
                    line["line_control_number"] = value
            elif claim is not None:
                key = {
                    "1K": "payer_claim_number",
                    "D9": "clearinghouse_trace_number",
                    "EJ": "patient_account_number",
                    "BLT": "bill_type",
                }.get(qualifier)
                if key is not None:
                    claim[key] = value
        elif segment_id == "DTP":
            if segment.element(1) == "472":
                if line is not None:
                    line["service_date"] = segment.element(3)
                elif claim is not None:
                    claim["service_date"] = segment.element(3)
        elif segment_id == "SVC":
            if claim is None:
                raise _out_of_place(segment, "claim (TRN)")
            close_line()
            line = {
                "procedure": segment.element(1).replace(delimiters.component, ":"),
                "charge_cents": _cents(segment, 2),
                "line_control_number": None,
                "service_date": "",
                "position": segment.position,
                "statuses_": [],
            }
    close_claim()
    if bht is None:
        raise X12SyntaxError(
            f"the 277 (ST at segment {transaction.header.position}) has no BHT",
            segment_id="BHT",
            position=transaction.header.position,
        )
    return ClaimStatusReport(
        control_number=transaction.header.element(2),
        interchange_control_number=transaction.interchange_control_number,
        implementation=transaction.header.element(3) or transaction.group.element(8),
        reference=bht.element(3),
        created=bht.element(4),
        receiver_statuses=tuple(receiver_statuses),
        provider_statuses=tuple((npi, tuple(statuses)) for npi, statuses in provider_statuses.items()),
        claims=tuple(claims),
        envelope_warnings=warnings,
    )


def _read_stc(segment: Segment, delimiters: Delimiters) -> Status:
    codes = []
    for index in (1, 10, 11):
        value = segment.element(index)
        if value:
            parts = split_components(value, delimiters)
            codes.append(StatusCode(parts[0], parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else ""))
    if not codes:
        raise X12SyntaxError(
            "STC01 (health care claim status) is required",
            segment_id="STC",
            position=segment.position,
            element_index=1,
        )
    return Status(
        codes=tuple(codes),
        effective_date=segment.element(2),
        action_code=segment.element(3),
        amount_cents=_cents(segment, 4),
        paid_cents=_cents(segment, 5),
        message=segment.element(12),
        position=segment.position,
    )
