"""The public X12 samples beside the repository (`../shared/x12/`), read in place, never copied in.

`CLAIMFLOW_X12_SAMPLES` names another folder (a git worktree's `..` is not the team folder); a test
whose sample is absent is skipped, not failed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(os.environ.get("CLAIMFLOW_X12_SAMPLES") or REPO_ROOT.parent / "shared" / "x12")


def sample_path(relative: str) -> Path:
    """The sample's path under SAMPLES; skips the test when it is not there."""
    path = SAMPLES / relative
    if not path.is_file():
        pytest.skip(f"public X12 sample {relative} not available under {SAMPLES}")
    return path


def sample(relative: str) -> bytes:
    return sample_path(relative).read_bytes()
