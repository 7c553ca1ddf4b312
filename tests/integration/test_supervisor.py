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


async def test_replicas_share_the_service_port_each_restarted_on_its_own_and_shown(
    services: Pipeline, tmp_path: Path
) -> None:
    """`claimflow up --replicas intake=2`: both replicas serve the service's port; one killed, the other keeps
    answering there while the supervisor starts the killed one again on its own port; status shows each."""
    replicas = await services.start_replicas("intake", 2, CLAIMFLOW_RUN_RELAY="false")
    service_port = replicas[0].service_port
    assert replicas[1].service_port == service_port and {r.port for r in replicas}.isdisjoint({service_port})
    state_file = tmp_path / "supervisor.json"
    supervisor = Supervisor({r.label: r for r in replicas}, state_file, first_backoff_s=0.2)
    assert list(supervisor.records) == ["intake-1", "intake-2"]
    record = supervisor.records["intake-1"]
    first_pid, own_port = record.pid, record.port
    assert first_pid is not None
    kill(first_pid, supervisor, "intake-1")

    no_reuse = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=no_reuse) as client:
        for _ in range(20):  # each a new connection: only the live replica accepts them
            assert (await client.get(f"http://127.0.0.1:{service_port}/healthz")).status_code == 200

    async def restarted() -> bool:
        supervisor.check()
        return record.restarts == 1 and record.state == "running"

    await eventually(restarted, timeout_s=30, what="the supervisor to start intake-1 again")
    await replicas[0].wait_ready(120)
    assert record.port == own_port and record.pid not in (None, first_pid)

    result = await asyncio.to_thread(CliRunner().invoke, app, ["status", "--json", "--state-file", str(state_file)])
    assert result.exit_code == 0, result.output
    shown = {row["name"]: row for row in json.loads(result.output)["services"]}
    assert set(shown) == {"intake-1", "intake-2"}
    for replica, row in enumerate((shown["intake-1"], shown["intake-2"]), start=1):
        assert (row["service"], row["replica"], row["replicas"]) == ("intake", replica, 2)
        assert row["service_port"] == service_port and row["port"] != service_port
        assert row["ready"] is True and row["state"] == "running"
        assert row["rss_mb"] is not None and row["rss_mb"] > 0
    assert (shown["intake-1"]["restarts"], shown["intake-2"]["restarts"]) == (1, 0)

    table = await asyncio.to_thread(CliRunner().invoke, app, ["status", "--state-file", str(state_file)])
    assert table.exit_code == 0 and "intake-1" in table.output and "intake-2" in table.output
    supervisor.stop_all()
