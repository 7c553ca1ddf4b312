"""Small process and socket helpers for the local stack (POSIX)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path


class StackError(RuntimeError):
    """The local stack could not be fetched, started, checked or stopped; the message says why."""


def free_port(host: str = "127.0.0.1", avoid: set[int] | None = None) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if not avoid or port not in avoid:
            return port
    raise StackError("could not find a free loopback port")


def port_is_free(port: int | None, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `port` (bound the way servers bind, with SO_REUSEADDR)."""
    if not port:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(previous: int | None, taken: set[int]) -> int:
    """The port used last time if it is still free (stable URLs across restarts), else a new one."""
    if previous and previous not in taken and port_is_free(previous):
        return previous
    return free_port(avoid=taken)


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id exists and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError, IndexError):
            # field 3, after the parenthesised command name, is the state; Z = zombie, X = dead
            return stat.read_text().rsplit(")", 1)[1].split()[0] not in {"Z", "X"}
    return True


def command_line(pid: int) -> str:
    """The command line of a running process, or '' when it cannot be read."""
    proc = Path(f"/proc/{pid}/cmdline")
    try:
        if proc.exists():
            return proc.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        out = subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True)
        return out.stdout.strip()
    except OSError:
        return ""


def process_matches(pid: int | None, *needles: str) -> bool:
    """Whether `pid` is alive and its command line contains every needle (guards against pid reuse)."""
    if not pid_alive(pid):
        return False
    assert pid is not None
    cmd = command_line(pid)
    return all(needle in cmd for needle in needles)


def wait_gone(pid: int, timeout: float, popen: subprocess.Popen[bytes] | None = None) -> bool:
    """Wait until the process has exited; True when it did within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None and popen.poll() is not None:
            return True
        if popen is None and not pid_alive(pid):
            return True
        time.sleep(0.1)
    return popen.poll() is not None if popen is not None else not pid_alive(pid)


def terminate(
    pid: int, *, grace: float, kill_after: float = 10.0, popen: subprocess.Popen[bytes] | None = None
) -> bool:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL and wait again. True when it stopped cleanly."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_gone(pid, grace, popen):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not wait_gone(pid, kill_after, popen):
        raise StackError(f"process {pid} survived SIGKILL")
    return False


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file ('' when there is none)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def run_logged(
    args: list[str],
    *,
    timeout: float,
    as_user: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log: Path | None = None,
) -> str:
    """Run a command to completion; output goes to a file, not a pipe.

    A pipe can hang the call when the command leaves a daemon behind that inherits it (pg_ctl start).
    `as_user` runs it as that system user (with its own group only). Returns the combined output;
    raises StackError with that output when the command fails.
    """
    import tempfile

    ids: dict[str, object] = {}
    if as_user is not None:
        import pwd

        entry = pwd.getpwnam(as_user)
        ids = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    with contextlib.ExitStack() as stack:
        out = (
            stack.enter_context(log.open("a+b"))
            if log is not None
            else stack.enter_context(tempfile.TemporaryFile("w+b"))
        )
        start = out.seek(0, os.SEEK_END)
        try:
            result = subprocess.run(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                env=env,
                cwd=cwd,
                check=False,
                **ids,  # type: ignore[arg-type]
            )
            code: int | None = result.returncode
        except subprocess.TimeoutExpired:
            code = None
        out.seek(start)
        text = out.read().decode(errors="replace")
    if code != 0:
        what = "timed out" if code is None else f"failed with exit code {code}"
        raise StackError(f"{' '.join(args[:3])} ... {what}:\n{text[-4000:]}")
    return text


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock so two `up`/`down` calls on one stack don't race."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
