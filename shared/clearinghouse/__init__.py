"""Clearinghouse adapters: claims submits 837s through them; claims and remittance collect the answers."""

from shared.clearinghouse.base import (
    ClearinghouseAdapter,
    InboundFile,
    InboundKind,
    SubmissionConflictError,
    SubmissionReceipt,
    check_file_name,
    classify_x12,
)
from shared.clearinghouse.file_drop import FileDropAdapter
from shared.clearinghouse.settings import ClearinghouseSettings, adapter_from_settings

__all__ = [
    "ClearinghouseAdapter",
    "ClearinghouseSettings",
    "FileDropAdapter",
    "InboundFile",
    "InboundKind",
    "SubmissionConflictError",
    "SubmissionReceipt",
    "adapter_from_settings",
    "check_file_name",
    "classify_x12",
]
