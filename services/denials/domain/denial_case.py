"""Denial case lifecycle; root-cause classification and appeals come with the denials issue."""

from __future__ import annotations

from enum import StrEnum


class DenialCaseStatus(StrEnum):
    OPEN = "open"
