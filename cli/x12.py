"""`claimflow x12 ...`: offline X12 tools (no servers needed)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer

from services.remittance.domain.balancing import BalanceFinding, balance_findings
from services.remittance.domain.remittance_advice import ClaimAdjustment, RemittanceAdvice
from services.remittance.domain.x12_835 import parse_835
from shared import codesets
from shared.codesets import CodeKind
from shared.x12 import X12Error
from shared.x12.tokenizer import paused_gc

x12_app = typer.Typer(no_args_is_help=True, help="Read, write and validate X12 files offline.")

EXIT_REJECTED = 1
"""The file cannot be accepted (unreadable, malformed, wrong version, or validator errors)."""
EXIT_UNBALANCED = 3
"""The 835 parsed but does not balance; the findings are on stderr."""

X12File = Annotated[Path, typer.Argument(help="The X12 file to read.", show_default=False)]


@x12_app.command("parse-835")
def parse_835_command(
    file: X12File,
    as_json: Annotated[bool, typer.Option("--json", help="Print the remittance as JSON (amounts in cents).")] = False,
) -> None:
    """Parse an 835 remittance (005010X221A1) and check that it balances.

    Exit status: 0 parsed and balanced; 1 file rejected (reason and segment position on
    stderr); 3 parsed but unbalanced (findings on stderr, the parse still printed). Faulty
    non-financial elements read around are warnings (stderr, and `warnings` in --json): exit 0.
    """
    with paused_gc():  # millions of small acyclic records: the cyclic collector only slows them down
        status = _parse_and_print(file, as_json=as_json)  # its records are freed before the collector is back
    if status:
        raise typer.Exit(status)


def _parse_and_print(file: Path, *, as_json: bool) -> int:
    """`parse-835`'s work: the exit status (0, or EXIT_UNBALANCED); a rejected file exits here."""
    data = _read(file)
    try:
        advices = parse_835(data)
    except X12Error as exc:
        _fail(f"{file}: rejected: {exc}")
    findings = [balance_findings(advice) for advice in advices]
    if as_json:  # orjson: the standard library's indented encoder is pure Python, 15x slower on a large file
        _write_bytes(orjson.dumps(remittance_json(advices, findings), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        typer.echo(_summary(file, advices, findings), nl=False)
    for warning in (warning for advice in advices for warning in advice.warnings):
        typer.echo(f"{file}: warning: {warning}", err=True)
    for finding in (finding for per_advice in findings for finding in per_advice):
        typer.echo(f"{file}: unbalanced: segment {finding.position}: {finding.message}", err=True)
    return EXIT_UNBALANCED if any(findings) else 0


def _write_bytes(payload: bytes) -> None:
    """Encoded output straight to standard output's byte stream: a 40 MB document is not decoded to text
    only to be encoded again."""
    stream = sys.stdout
    stream.flush()
    binary = getattr(stream, "buffer", None)
    if binary is None:  # a text-only stream (some test harnesses)
        stream.write(payload.decode())
        return
    binary.write(payload)
    binary.flush()


@x12_app.command("render-837")
def render_837_command(
    file: Annotated[Path, typer.Argument(help="An encounter document (intake API shape) as JSON.", show_default=False)],
    control_number: Annotated[str, typer.Option(help="CLM01 to write.")] = "CF0000000001",
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Bill as on this day (YYYY-MM-DD); default: the document's as_of, else today.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write the 837P/837I for an encounter document to stdout, through the claims service's mapper.

    Scrubber findings go to stderr; exit status 1 when the document cannot become an 837, or names
    a party it does not define (a dangling reference); errors name the document's own fields.
    """
    from cli.render_837 import RenderError, render_837

    _read(file)
    try:
        day = None if as_of is None else date.fromisoformat(as_of)
    except ValueError:
        _fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
    try:
        text, findings = render_837(file, control_number=control_number, now=datetime.now(UTC), as_of=day)
    except RenderError as exc:
        _fail(f"{file}: {exc}")
    for finding in findings:
        where = f" line {finding.line_number}" if finding.line_number else ""
        typer.echo(f"{file}: scrub {finding.severity}{where}: {finding.rule_id}: {finding.message}", err=True)
    typer.echo(text, nl=False)


class PaperFormName(StrEnum):
    CMS1500 = "cms1500"
    UB04 = "ub04"


@x12_app.command("render-paper")
def render_paper_command(
    file: Annotated[Path, typer.Argument(help="An encounter document (intake API shape) as JSON.", show_default=False)],
    form: Annotated[PaperFormName, typer.Option("--form", help="cms1500 (professional) or ub04 (institutional).")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="The PDF to write (default: FILE with .pdf).")
    ] = None,
    control_number: Annotated[str, typer.Option(help="Patient account / control number to print.")] = "CF0000000001",
) -> None:
    """Write the encounter document's claim as a paper CMS-1500 (02/12) or UB-04 PDF, each field in its box.

    The same input as render-837; exit status 1 when the document cannot become that form.
    """
    from cli.render_837 import RenderError
    from cli.render_paper import render_paper

    _read(file)
    try:
        pdf = render_paper(file, form_name=form.value, control_number=control_number, now=datetime.now(UTC))
    except RenderError as exc:
        _fail(f"{file}: {exc}")
    target = output or file.with_suffix(".pdf")
    try:
        target.write_bytes(pdf)
    except OSError as exc:
        _fail(f"{target}: cannot write: {exc.strerror or exc}")
    typer.echo(f"{target}: {form.value} PDF, {len(pdf):,} bytes")


@x12_app.command("validate")
def validate_command(file: X12File) -> None:
    """Validate any X12 file against its implementation guide with pyx12, the independent validator.

    Prints each error with the segment position; exit status 1 when there is any.
    """
    from shared.x12.pyx12_validation import validate_with_pyx12  # pyx12 only for this command

    issues = validate_with_pyx12(_read(file))
    if not issues:
        typer.echo(f"{file}: valid: pyx12 found no errors")
        return
    for issue in issues:
        typer.echo(f"{file}: {issue}")
    typer.echo(f"{file}: {len(issues)} error(s) reported by pyx12", err=True)
    raise typer.Exit(EXIT_REJECTED)


def remittance_json(advices: tuple[RemittanceAdvice, ...], findings: list[list[BalanceFinding]]) -> dict[str, Any]:
    """The `parse-835 --json` document: one entry per transaction set, amounts in signed cents.

    `findings[i]` are the balancing findings of `advices[i]`.
    """
    describe = _describer()

    def adjustment_json(adjustment: ClaimAdjustment, level: str) -> dict[str, Any]:
        return {
            "group": adjustment.group,
            "group_description": describe(CodeKind.ADJUSTMENT_GROUP, adjustment.group),
            "carc": adjustment.reason,
            "carc_description": describe(CodeKind.CARC, adjustment.reason),
            "amount_cents": adjustment.amount_cents,
            "level": level,
        }

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
                "claims": [
                    {
                        "clp01": claim.patient_control_number,
                        "status": claim.status,
                        "status_description": describe(CodeKind.CLAIM_STATUS, claim.status),
                        "charge_cents": claim.charge_cents,
                        "paid_cents": claim.paid_cents,
                        "patient_responsibility_cents": claim.patient_responsibility_cents or 0,
                        "payer_claim_control_number": claim.payer_claim_control_number,
                        "adjustments": [adjustment_json(adjustment, "claim") for adjustment in claim.adjustments]
                        + [
                            adjustment_json(adjustment, "line")
                            for line in claim.lines
                            for adjustment in line.adjustments
                        ],
                        "lines": [
                            {
                                "procedure": f"{line.procedure.qualifier}:{line.procedure.code}",
                                "modifiers": list(line.procedure.modifiers),
                                "charge_cents": line.charge_cents,
                                "paid_cents": line.paid_cents,
                                "control_number": line.control_number,
                                "remarks": [remark.code for remark in line.remarks],
                                "remark_descriptions": [
                                    {"code": remark.code, "description": describe(CodeKind.RARC, remark.code)}
                                    for remark in line.remarks
                                ],
                            }
                            for line in claim.lines
                        ],
                    }
                    for claim in advice.claims
                ],
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


def _describer() -> Callable[[CodeKind, str], str | None]:
    """`codesets.describe`, remembered per (kind, code) for one document: a large file repeats a few
    hundred codes hundreds of thousands of times."""
    known: dict[tuple[CodeKind, str], str | None] = {}

    def describe(kind: CodeKind, code: str) -> str | None:
        key = (kind, code)
        try:
            return known[key]
        except KeyError:
            described = known[key] = codesets.describe(kind, code)
            return described

    return describe


_SUMMARY_COLUMNS = ("CLP01", "status", "charge", "paid", "patient resp.", "adjusted by group", "lines")
_RIGHT_ALIGNED = frozenset({2, 3, 4, 6})


def _summary(file: Path, advices: tuple[RemittanceAdvice, ...], findings: list[list[BalanceFinding]]) -> str:
    """The human summary: one plain-text table of claims per remittance, built as one string (a terminal
    table library laid out 20,000 rows four times slower than the JSON took)."""
    describe = _describer()
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
            described = describe(CodeKind.CLAIM_STATUS, claim.status)
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


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        _fail(f"{file}: cannot read: {exc.strerror or exc}")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_REJECTED)
