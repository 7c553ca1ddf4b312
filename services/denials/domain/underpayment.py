"""Underpayments: a paid line whose allowed amount is below the contracted rate by more than the payer's
tolerance. Allowed = paid + the patient's share of the line (PR adjustments), as the payer priced it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from shared.money import parse_cents


@dataclass(frozen=True, slots=True)
class ContractRate:
    payer_id: str
    procedure_code: str
    modifier: str
    allowed_cents: int
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class RemittedLine:
    line_number: int | None
    procedure_code: str
    modifiers: tuple[str, ...]
    charge_cents: int
    paid_cents: int
    patient_share_cents: int

    @property
    def allowed_cents(self) -> int:
        return self.paid_cents + self.patient_share_cents


@dataclass(frozen=True, slots=True)
class Underpayment:
    line_number: int | None
    procedure_code: str
    modifier: str
    expected_cents: int
    allowed_cents: int
    paid_cents: int

    @property
    def short_cents(self) -> int:
        return self.expected_cents - self.allowed_cents


def contract_for(rates: dict[tuple[str, str], ContractRate], line: RemittedLine) -> ContractRate | None:
    """The rate for the procedure with the line's first modifier, else the procedure's rate without one."""
    first = line.modifiers[0].upper() if line.modifiers else ""
    return rates.get((line.procedure_code, first)) or rates.get((line.procedure_code, ""))


def underpaid_lines(
    lines: list[RemittedLine], rates: dict[tuple[str, str], ContractRate], tolerance_cents: int
) -> list[Underpayment]:
    """Lines paid something (a zero-paid line is a denial, not an underpayment) but allowed less than the
    contract minus the tolerance. The contract never asks for more than the line's charge."""
    found = []
    for line in lines:
        rate = contract_for(rates, line)
        if rate is None or line.paid_cents <= 0:
            continue
        expected = min(rate.allowed_cents, line.charge_cents)
        if expected - line.allowed_cents > tolerance_cents:
            found.append(
                Underpayment(
                    line.line_number, line.procedure_code, rate.modifier, expected, line.allowed_cents, line.paid_cents
                )
            )
    return found


class ContractFileError(ValueError):
    """A row of a contract file is wrong; the message names the line and the column."""


CONTRACT_COLUMNS = ("payer_id", "procedure_code", "modifier", "allowed_amount")


def parse_contract_csv(text: str) -> list[ContractRate]:
    """Rows of ``payer_id,procedure_code,modifier,allowed_amount[,currency]`` (amount in dollars, e.g.
    110.00, read exactly into cents); a header row is required; later rows win over earlier ones."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CONTRACT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ContractFileError(
            f"line 1: missing column(s) {', '.join(missing)}; expected {','.join(CONTRACT_COLUMNS)}"
        )
    rates: dict[tuple[str, str, str], ContractRate] = {}
    for number, row in enumerate(reader, start=2):
        payer, code = (row["payer_id"] or "").strip(), (row["procedure_code"] or "").strip().upper()
        if not payer or not code:
            raise ContractFileError(f"line {number}: payer_id and procedure_code are required")
        try:
            cents = parse_cents((row["allowed_amount"] or "").strip())
        except ValueError as exc:
            raise ContractFileError(f"line {number}: allowed_amount: {exc}") from None
        if cents <= 0:
            raise ContractFileError(f"line {number}: allowed_amount must be positive")
        modifier = (row["modifier"] or "").strip().upper()
        currency = (row.get("currency") or "USD").strip().upper() or "USD"
        rates[(payer, code, modifier)] = ContractRate(payer, code, modifier, cents, currency)
    return list(rates.values())
