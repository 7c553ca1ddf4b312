"""`claimflow` as a separate process, as an operator runs it: the commands that touch every row of a service."""

from __future__ import annotations

import asyncio
import os
import sys
from asyncio.subprocess import PIPE, STDOUT


async def claimflow(*args: str, env: dict[str, str]) -> str:
    """Run `claimflow ARGS` with `env` over this process's environment; its output, once it exited 0."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", *args, env={**os.environ, **env}, stdout=PIPE, stderr=STDOUT
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()
