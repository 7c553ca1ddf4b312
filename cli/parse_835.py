"""`claimflow x12 parse-835`'s work, free of the command framework: read the file, parse it, check that it
balances, print the remittance (JSON or a table) and the positioned warnings, findings or rejection.

Both ways in run this one function: the typer command in `cli.x12` (its help, option parsing and usage errors)
and the console entry's direct path in `cli.launcher`, which takes `x12 parse-835 FILE [--json]` without
importing typer or pydantic (importing them cost more than parsing a 2,000-claim file). Output goes through
`_echo`, which writes as `typer.echo` does, so both ways print the same bytes.
"""

from __future__ import annotations

import codecs
import os
import re
import sys
from pathlib import Path
from typing import Any, TextIO

import orjson

from services.remittance.domain.balancing import BalanceFinding, balance_findings
from services.remittance.domain.remittance_advice import Claim, ClaimAdjustment, RemittanceAdvice
from services.remittance.domain.x12_835 import parse_835
from shared import codesets
from shared.codesets import CodeKind
from shared.x12 import X12Error
from shared.x12.tokenizer import paused_gc

EXIT_REJECTED = 1
"""The file cannot be accepted (unreadable, malformed, wrong version, or validator errors)."""
EXIT_UNBALANCED = 3
"""The 835 parsed but does not balance; the findings are on stderr."""


def parse_835_file(file: Path, *, as_json: bool, hard_exit: bool = False) -> int:
    """Parse `file`, print it and its diagnostics; the exit status: 0 parsed and balanced, `EXIT_REJECTED`
    (the reason and segment position on stderr), `EXIT_UNBALANCED` (the parse still printed).

    `hard_exit` (the console entry's direct path only) ends the process here once the output is flushed,
    with `os._exit`: the interpreter would otherwise spend a tenth of the run freeing the records one by one."""
    with paused_gc():  # millions of small acyclic records: the cyclic collector only slows them down
        try:
            data = file.read_bytes()
        except OSError as exc:
            return _rejected(f"{file}: cannot read: {exc.strerror or exc}", hard_exit=hard_exit)
        try:
            advices = parse_835(data)
        except X12Error as exc:
            return _rejected(f"{file}: rejected: {exc}", hard_exit=hard_exit)
        findings = [balance_findings(advice) for advice in advices]
        if as_json:  # orjson: the standard library's indented encoder is pure Python, 15x slower on a large file
            document = remittance_json(advices, findings)
            _write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2), b"\n")
        else:
            _echo(_summary(file, advices, findings))
        diagnostics = [f"{file}: warning: {warning}\n" for advice in advices for warning in advice.warnings]
        diagnostics += [
            f"{file}: unbalanced: segment {finding.position}: {finding.message}\n"
            for per_advice in findings
            for finding in per_advice
        ]
        if diagnostics:
            _echo("".join(diagnostics), err=True)
        status = EXIT_UNBALANCED if any(findings) else 0
        if hard_exit:
            _exit_now(status)  # the records are still referenced here: they are never freed one by one
    return status


def _rejected(message: str, *, hard_exit: bool) -> int:
    _echo(f"error: {message}\n", err=True)
    if hard_exit:
        _exit_now(EXIT_REJECTED)
    return EXIT_REJECTED


def _exit_now(status: int) -> None:
    """End the process with `status` once standard output and error are flushed; a reader that closed the pipe
    early gets exit status 1, as from a typer command."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        status = 1
    os._exit(status)


_ANSI_CODE = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")
"""click's pattern of ANSI style codes, which `typer.echo` removes from output that is not a terminal."""


def _echo(message: str, *, err: bool = False) -> None:
    """`message` (its line ends included) written and flushed as `typer.echo(..., nl=False)` writes it: style
    codes removed unless the stream is a terminal, UTF-8 when the stream claims to be ASCII."""
    stream = sys.stderr if err else sys.stdout
    if "\033" in message and not _is_terminal(stream):
        message = _ANSI_CODE.sub("", message)
    binary = getattr(stream, "buffer", None)
    if binary is not None and _claims_ascii(stream):
        stream.flush()
        binary.write(message.encode("utf-8", "replace"))
        binary.flush()
        return
    stream.write(message)
    stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:
        return False


def _claims_ascii(stream: TextIO) -> bool:
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "ascii").name == "ascii"
    except LookupError:
        return False


def _write_bytes(*payloads: bytes) -> None:
    """Encoded output straight to standard output's byte stream: a 40 MB document is not decoded to text
    only to be encoded again, nor copied to append its line end (43 MB less memory touched)."""
    stream = sys.stdout
    stream.flush()
    binary = getattr(stream, "buffer", None)
    if binary is None:  # a text-only stream (some test harnesses)
        stream.write("".join(payload.decode() for payload in payloads))
        return
    for payload in payloads:
        binary.write(payload)
    binary.flush()


def remittance_json(advices: tuple[RemittanceAdvice, ...], findings: list[list[BalanceFinding]]) -> dict[str, Any]:
    """The `parse-835 --json` document: one entry per transaction set, amounts in signed cents.

    `findings[i]` are the balancing findings of `advices[i]`.
    """
    claim_json = _ClaimJson()
    return {
        "transactions": [
            {
                "trace_number": advice.trace.trace_number,
                "bpr_total_cents": advice.payment.amount_cents,
                "plb_total_cents": advice.provider_adjustment_total_cents,
                "control_number": advice.control_number,
                "payment_method": advice.payment.method,
                "payment_date": advice.payment.payment_date,
                "payer": advice.payer.name,
                "payee_id": advice.payee.id,
                "provider_adjustments": [
                    {"reason": plb.reason, "reference": plb.reference, "amount_cents": plb.amount_cents}
                    for plb in advice.provider_adjustments
                ],
                "claims": list(map(claim_json, advice.claims)),
                "warnings": [
                    {
                        "segment_id": warning.segment_id,
                        "position": warning.position,
                        "element": warning.element,
                        "message": warning.message,
                    }
                    for warning in advice.warnings
                ],
                "balance_findings": [
                    {
                        "rule": finding.rule,
                        "clp01": finding.clp01,
                        "position": finding.position,
                        "expected_cents": finding.expected_cents,
                        "actual_cents": finding.actual_cents,
                    }
                    for finding in advice_findings
                ],
            }
            for advice, advice_findings in zip(advices, findings, strict=True)
        ]
    }


class _Descriptions(dict[str, str | None]):
    """`codesets.describe` of one kind of code, remembered for one document (a large file repeats a few hundred
    codes hundreds of thousands of times): `descriptions[code]`, looked up in C once a code was seen."""

    def __init__(self, kind: CodeKind) -> None:
        super().__init__()
        self.kind = kind

    def __missing__(self, code: str) -> str | None:
        described = self[code] = codesets.describe(self.kind, code)
        return described


class _ClaimJson:
    """One claim of the `--json` document (a claim's adjustments: claim-level, then each line's)."""

    def __init__(self) -> None:
        self.statuses = _Descriptions(CodeKind.CLAIM_STATUS)
        self.groups = _Descriptions(CodeKind.ADJUSTMENT_GROUP)
        self.carcs = _Descriptions(CodeKind.CARC)
        self.rarcs = _Descriptions(CodeKind.RARC)

    def __call__(self, claim: Claim) -> dict[str, Any]:
        adjustments: list[dict[str, Any]] = []
        self._adjustments(claim.adjustments, "claim", adjustments)
        lines: list[dict[str, Any]] = []
        rarcs = self.rarcs
        for line in claim.lines:
            self._adjustments(line.adjustments, "line", adjustments)
            procedure = line.procedure
            remarks = line.remarks
            lines.append(
                {
                    "procedure": f"{procedure.qualifier}:{procedure.code}",
                    "modifiers": list(procedure.modifiers),
                    "charge_cents": line.charge_cents,
                    "paid_cents": line.paid_cents,
                    "control_number": line.control_number,
                    "remarks": [remark.code for remark in remarks] if remarks else [],
                    "remark_descriptions": [
                        {"code": remark.code, "description": rarcs[remark.code]} for remark in remarks
                    ]
                    if remarks
                    else [],
                }
            )
        return {
            "clp01": claim.patient_control_number,
            "status": claim.status,
            "status_description": self.statuses[claim.status],
            "charge_cents": claim.charge_cents,
            "paid_cents": claim.paid_cents,
            "patient_responsibility_cents": claim.patient_responsibility_cents or 0,
            "payer_claim_control_number": claim.payer_claim_control_number,
            "adjustments": adjustments,
            "lines": lines,
        }

    def _adjustments(self, adjustments: tuple[ClaimAdjustment, ...], level: str, into: list[dict[str, Any]]) -> None:
        groups, carcs = self.groups, self.carcs
        for adjustment in adjustments:
            into.append(
                {
                    "group": adjustment.group,
                    "group_description": groups[adjustment.group],
                    "carc": adjustment.reason,
                    "carc_description": carcs[adjustment.reason],
                    "amount_cents": adjustment.amount_cents,
                    "level": level,
                }
            )


_SUMMARY_COLUMNS = ("CLP01", "status", "charge", "paid", "patient resp.", "adjusted by group", "lines")
_RIGHT_ALIGNED = frozenset({2, 3, 4, 6})


def _summary(file: Path, advices: tuple[RemittanceAdvice, ...], findings: list[list[BalanceFinding]]) -> str:
    """The human summary: one plain-text table of claims per remittance, built as one string (a terminal
    table library laid out 20,000 rows four times slower than the JSON took)."""
    statuses = _Descriptions(CodeKind.CLAIM_STATUS)
    claim_count = sum(len(advice.claims) for advice in advices)
    out: list[str] = [f"{file}: {len(advices)} remittance(s), {claim_count} claim(s)"]
    for advice in advices:
        payment = advice.payment
        out.append(
            f"\nTrace {advice.trace.trace_number} from {advice.payer.name} "
            f"to {advice.payee.name}: {payment.method} {_dollars(payment.amount_cents)}"
            + (f" on {payment.payment_date}" if payment.payment_date else "")
            + f", provider adjustments {_dollars(advice.provider_adjustment_total_cents)}"
        )
        rows: list[tuple[str, ...]] = [_SUMMARY_COLUMNS]
        for claim in advice.claims:
            by_group: dict[str, int] = {}
            for adjustment in claim.all_adjustments:
                by_group[adjustment.group] = by_group.get(adjustment.group, 0) + adjustment.amount_cents
            described = statuses[claim.status]
            rows.append(
                (
                    claim.patient_control_number,
                    f"{claim.status} {described}" if described else claim.status,
                    _dollars(claim.charge_cents),
                    _dollars(claim.paid_cents),
                    _dollars(claim.patient_responsibility_cents or 0),
                    " ".join(f"{group} {_dollars(cents)}" for group, cents in by_group.items()),
                    str(len(claim.lines)),
                )
            )
        widths = [max(map(len, column)) for column in zip(*rows, strict=True)]
        for number, row in enumerate(rows):
            out.append(
                "  ".join(
                    value.rjust(width) if index in _RIGHT_ALIGNED and number else value.ljust(width)
                    for index, (value, width) in enumerate(zip(row, widths, strict=True))
                ).rstrip()
            )
            if number == 0:
                out.append("  ".join("-" * width for width in widths))
    finding_count = sum(len(per_advice) for per_advice in findings)
    if finding_count:
        out.append(f"{finding_count} balancing finding(s) (see stderr)")
    else:
        out.append("Balanced: every claim, line and payment adds up.")
    return "\n".join(out) + "\n"


def _dollars(cents: int) -> str:
    return f"{'-' if cents < 0 else ''}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"
