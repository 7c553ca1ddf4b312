"""`claimflow x12 ...`: offline X12 tools (no servers needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from cli.parse_835 import EXIT_REJECTED, EXIT_UNBALANCED, parse_835_file

__all__ = ["EXIT_REJECTED", "EXIT_UNBALANCED", "x12_app"]

x12_app = typer.Typer(no_args_is_help=True, help="Read, write and validate X12 files offline.", rich_markup_mode=None)

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
    status = parse_835_file(file, as_json=as_json)
    if status:
        raise typer.Exit(status)


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


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        _fail(f"{file}: cannot read: {exc.strerror or exc}")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_REJECTED)
