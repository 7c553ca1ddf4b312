"""cProfile a benchmark's service process between two signals (put this folder on PYTHONPATH).

With CLAIMFLOW_PROFILE_TO=<path> set, SIGUSR1 starts profiling the main thread (the event loop), in thread
CPU time (wall time is skewed on a loaded machine), and SIGUSR2 writes the statistics to <path>.<pid>.prof;
the benchmark sends them around its timed window, so start-up and migrations stay out of the figures.
"""

from __future__ import annotations

import cProfile
import os
import signal
import time
from types import FrameType

_TARGET = os.environ.get("CLAIMFLOW_PROFILE_TO")
_profiler: cProfile.Profile | None = None


def _start(_signum: int, _frame: FrameType | None) -> None:
    global _profiler
    _profiler = cProfile.Profile(time.thread_time)
    _profiler.enable()


def _dump(_signum: int, _frame: FrameType | None) -> None:
    if _profiler is not None and _TARGET:
        _profiler.disable()
        _profiler.dump_stats(f"{_TARGET}.{os.getpid()}.prof")


if _TARGET:
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _dump)
