"""Defect #9: `claimflow up` had no supervisor: one service exiting stopped the stack, and a restarted service
came up on a random port. The supervisor starts it again, with backoff, on the same port, and
`claimflow status` shows it."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from pathlib import Path

import httpx
from typer.testing import CliRunner

from cli.main import app
from cli.supervisor import Supervisor
from tests.support.pipeline import Pipeline, eventually


def kill(process_pid: int, supervisor: Supervisor, name: str) -> None:
    child = supervisor.processes[name].process
    assert child is not None and child.pid == process_pid
    child.send_signal(signal.SIGKILL)
    child.wait(10)


async def test_a_killed_service_comes_back_on_its_port_and_status_shows_it(services: Pipeline, tmp_path: Path) -> None:
    intake = await services.start("intake", CLAIMFLOW_RUN_RELAY="false")
    port = intake.port
    state_file = tmp_path / "supervisor.json"
    reports: list[str] = []
    supervisor = Supervisor({"intake": intake}, state_file, report=reports.append, first_backoff_s=0.2)
    record = supervisor.records["intake"]

    first_pid = record.pid
    assert first_pid is not None
    kill(first_pid, supervisor, "intake")

    async def restarted(count: int) -> bool:
        supervisor.check()
        return record.restarts == count and record.state == "running"

    await eventually(lambda: restarted(1), timeout_s=30, what="the supervisor to start intake again")
    await intake.wait_ready(90)
    assert intake.port == port and record.port == port
    assert record.pid not in (None, first_pid)
    assert record.last_exit_code == -signal.SIGKILL
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200

    # A leftover socket holds the port: the supervisor waits for it rather than moving to another port.
    assert record.pid is not None
    kill(record.pid, supervisor, "intake")
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", port))
    squatter.listen()
    try:

        async def waiting() -> bool:
            supervisor.check()
            return record.state == "waiting-for-port"

        await eventually(waiting, timeout_s=30, what="the supervisor to wait for the held port")
        for _ in range(3):
            supervisor.check()
            await asyncio.sleep(0.1)
        assert record.state == "waiting-for-port" and record.restarts == 1
    finally:
        squatter.close()
    await eventually(lambda: restarted(2), timeout_s=30, what="intake to start again once the port is free")
    await intake.wait_ready(90)
    assert intake.port == port
    assert any("waiting for it" in line for line in reports)

    result = await asyncio.to_thread(CliRunner().invoke, app, ["status", "--json", "--state-file", str(state_file)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["supervisor"]["running"] is True
    (service,) = shown["services"]
    assert service["name"] == "intake"
    assert service["state"] == "running"
    assert service["port"] == port
    assert service["restarts"] == 2
    assert service["last_exit_code"] == -signal.SIGKILL
    assert service["ready"] is True
    assert isinstance(service["consumer_lag"], int) and isinstance(service["outbox_backlog"], int)

    table = await asyncio.to_thread(CliRunner().invoke, app, ["status", "--state-file", str(state_file)])
    assert table.exit_code == 0 and "intake" in table.output and "running" in table.output

    supervisor.stop_all()
    stopped = await asyncio.to_thread(CliRunner().invoke, app, ["status", "--json", "--state-file", str(state_file)])
    assert stopped.exit_code == 1
    assert json.loads(stopped.output)["services"][0]["state"] == "stopped"
