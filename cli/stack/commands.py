"""`claimflow stack fetch|up|down|status|env`."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.stack.local_stack import LocalStack, StackStatus
from cli.stack.paths import DEV_STACK_DIR, find_repo_root
from cli.stack.process import StackError

stack_app = typer.Typer(
    no_args_is_help=True, help="Local Kafka and Postgres servers on loopback.", rich_markup_mode=None
)

console = Console()
err_console = Console(stderr=True)

StackDirOption = Annotated[
    Path,
    typer.Option(
        "--stack-dir",
        help="Folder of this stack instance, relative to the repo root (e.g. .local/test-stack).",
    ),
]


@contextmanager
def _spinner(title: str) -> Iterator[Callable[[str], None]]:
    """A rich spinner showing the current step; finished steps stay printed above it."""
    started = time.monotonic()
    with console.status(Text(title), spinner="dots") as status:

        def report(message: str) -> None:
            elapsed = f"  ({time.monotonic() - started:.1f}s)"
            console.print(Text.assemble(("  • ", "dim"), message, (elapsed, "dim")), soft_wrap=True)
            status.update(Text(f"{message} ..."))

        yield report


def _fail(err: Exception) -> typer.Exit:
    err_console.print(Text.assemble(("error: ", "bold red"), str(err)), soft_wrap=True)
    return typer.Exit(code=1)


def _stack(stack_dir: Path, progress: Callable[[str], None] | None = None) -> LocalStack:
    try:
        root = find_repo_root()
    except FileNotFoundError as err:
        raise _fail(err) from err
    return LocalStack.from_env(root, stack_dir=stack_dir, progress=progress)


@stack_app.command()
def fetch(
    force: Annotated[bool, typer.Option("--force", help="Fetch again even if the cache is complete.")] = False,
) -> None:
    """Check java and mvn, and fetch the Kafka broker jars from Maven Central once (cached in .local/cache)."""
    started = time.monotonic()
    with _spinner("Checking java and mvn") as progress:
        stack = _stack(DEV_STACK_DIR, progress)
        try:
            from cli.stack.kafka import fetch_kafka, find_java, find_maven

            java = find_java()
            progress(f"java: {java}")
            try:
                progress(f"mvn: {find_maven()}")
            except StackError:
                if force or not _jars_ready(stack):
                    raise
                progress("mvn: not found (not needed: the jars are cached)")
            libs = fetch_kafka(stack.paths, progress, force=force)
        except StackError as err:
            raise _fail(err) from err
    jars = len(list(libs.glob("*.jar")))
    console.print(f"[green]Kafka jars ready[/]: {jars} jars in {libs} ({time.monotonic() - started:.1f}s)")


def _jars_ready(stack: LocalStack) -> bool:
    from cli.stack.kafka import kafka_jars_ready

    return kafka_jars_ready(stack.paths)


@stack_app.command()
def up(stack_dir: StackDirOption = DEV_STACK_DIR) -> None:
    """Start Postgres and Kafka (or reuse the running ones) and create the topics.

    Uses DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS instead of starting a server when they are set.
    """
    started = time.monotonic()
    with _spinner("Starting the local stack") as progress:
        stack = _stack(stack_dir, progress)
        try:
            endpoints = stack.up()
        except StackError as err:
            raise _fail(err) from err
    console.print(f"[green]Stack up[/] in {time.monotonic() - started:.1f}s  (state: {stack.paths.state_file})")
    for key, value in endpoints.as_env().items():
        console.print(Text.assemble((key, "bold"), "=", value), soft_wrap=True)
    console.print(Text('Use in a shell: eval "$(claimflow stack env)"', style="dim"))


@stack_app.command()
def down(stack_dir: StackDirOption = DEV_STACK_DIR) -> None:
    """Stop the Kafka broker and Postgres started by `up` (data and logs are kept)."""
    started = time.monotonic()
    with _spinner("Stopping the local stack") as progress:
        stack = _stack(stack_dir, progress)
        try:
            stack.down()
        except StackError as err:
            raise _fail(err) from err
    console.print(f"[green]Stack down[/] in {time.monotonic() - started:.1f}s")


@stack_app.command()
def status(stack_dir: StackDirOption = DEV_STACK_DIR) -> None:
    """Show whether each server answers a real call now. Exit code 0 when all are up, 1 otherwise."""
    stack = _stack(stack_dir)
    try:
        result = stack.status()
    except StackError as err:
        raise _fail(err) from err
    _print_status(result)
    if not result.up:
        raise typer.Exit(code=1)


def _print_status(result: StackStatus) -> None:
    table = Table(title=f"claimflow stack: {result.stack_dir}", title_justify="left")
    for column in ("server", "state", "endpoint", "pid", "detail"):
        table.add_column(column, overflow="fold")
    for c in result.components:
        state = Text("up", style="bold green") if c.up else Text("down", style="bold red")
        if not c.managed:
            state.append(" (external)", style="dim")
        table.add_row(
            c.name,
            state,
            Text(c.endpoint or "-"),
            str(c.pid) if c.pid else "-",
            Text(c.detail),
        )
    console.print(table)
    for c in result.components:
        if c.log is not None:
            console.print(Text(f"{c.name} log: {c.log}", style="dim"), soft_wrap=True)
    if result.started_at:
        console.print(Text(f"last started at {result.started_at}", style="dim"))


@stack_app.command()
def env(stack_dir: StackDirOption = DEV_STACK_DIR) -> None:
    """Print `export` lines for the running stack: eval "$(claimflow stack env)"."""
    stack = _stack(stack_dir)
    endpoints = stack.endpoints()
    if endpoints is None:
        raise _fail(StackError("the stack is not up (run `claimflow stack up`)"))
    for key, value in endpoints.as_env().items():
        typer.echo(f"export {key}={shlex.quote(value)}")
