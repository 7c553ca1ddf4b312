"""The claims service's I/O edge to a clearinghouse: submit 837s, collect what comes back."""

from services.claims.adapters.base import (
    ClearinghouseAdapter,
    InboundFile,
    InboundKind,
    SubmissionConflictError,
    SubmissionReceipt,
    check_file_name,
    classify_x12,
)
from services.claims.adapters.file_drop import FileDropAdapter
from services.claims.adapters.settings import ClearinghouseSettings, adapter_from_settings

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
