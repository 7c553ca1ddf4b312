"""Run pyx12's X12 validator in-process and return its findings as plain strings.

``x12n_document`` builds its own error handler, so findings are read back from the
JSON error report it can write; log records are the fallback when that report is empty
but pyx12 still says the document is invalid.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pyx12.params
import pyx12.x12n_document


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _flatten(report: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for isa in report.get("interchanges", []):
        found += [f"ISA {e['err_cde']}: {e['err_str']}" for e in isa["errors"]]
        for gs in isa["groups"]:
            found += [f"GS {e['err_cde']}: {e['err_str']}" for e in gs["errors"]]
            for st in gs["transactions"]:
                found += [f"ST {st['trn_set_control_num']} {e['err_cde']}: {e['err_str']}" for e in st["errors"]]
                for seg in st["segments"]:
                    where = f"line {seg['cur_line']} {seg['seg_id']} ({seg['name']})"
                    found += [f"{where}: {e['err_str']} [{e['err_val']}]" for e in seg["errors"]]
                    for ele in seg["elements"]:
                        found += [f"{where} element {ele['ele_pos']}: {e['err_str']}" for e in ele["errors"]]
    return found


def pyx12_errors(x12_text: str) -> list[str]:
    """Every error pyx12 reports for this X12 document; empty means it validates."""
    report = io.StringIO()
    collector = _Collect()
    logger = logging.getLogger("pyx12")
    logger.addHandler(collector)
    try:
        ok = pyx12.x12n_document.x12n_document(
            param=pyx12.params.params(),
            src_file=io.StringIO(x12_text),
            fd_997=None,
            fd_html=None,
            fd_json=report,
        )
    finally:
        logger.removeHandler(collector)
    errors = _flatten(json.loads(report.getvalue())) if report.getvalue() else []
    if not errors:
        errors = collector.messages
    if not ok and not errors:
        errors = ["pyx12 rejected the document without saying why"]
    return errors
