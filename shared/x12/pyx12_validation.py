"""Adapter to pyx12, the independent X12 validator (TR3 maps for 835, 837, 270/271, 276/277, 999...).

Our own readers check what the domain needs; pyx12 checks full implementation-guide
conformance and is the yardstick the quality bars name. pyx12 loads its maps from its
package data; it reads no other file and writes nothing when no 997/999/HTML output is asked.
"""

from __future__ import annotations

import io
import json
import logging
import pickle
import re
import threading
from dataclasses import dataclass
from typing import Any

from shared.x12.errors import X12Error
from shared.x12.tokenizer import decode_x12

# pyx12 names its input by repr(); we hand it a StringIO, so say "the file" instead.
_STREAM_REPR = re.compile(r'"?<_io\.StringIO object at 0x[0-9a-fA-F]+>"?')


@dataclass(frozen=True, slots=True)
class ValidatorIssue:
    """One error pyx12 reports. `position` is the segment's 1-based index in the file."""

    level: str
    """"interchange", "group", "transaction", "segment", "element" or "file"."""
    segment_id: str | None
    position: int | None
    element: str | None
    """Element (and component) position such as "16" or "01-2", when pyx12 names one."""
    code: str
    message: str

    def __str__(self) -> str:
        where = []
        if self.position is not None:
            where.append(f"segment {self.position}")
        if self.segment_id:
            where.append(f"({self.segment_id})" if where else self.segment_id)
        location = " ".join(where)
        if self.element:
            location = f"{location}, element {self.element}" if location else f"element {self.element}"
        return f"{location}: {self.message}" if location else self.message


def validate_with_pyx12(data: bytes | str) -> tuple[ValidatorIssue, ...]:
    """Every error pyx12 finds in an X12 file; empty when it validates clean.

    The text is decoded first (UTF-8 BOM stripped, UTF-16 read) because pyx12 itself
    fails on a byte-order mark.
    """
    import pyx12.errors
    import pyx12.params
    import pyx12.x12n_document

    _load_maps_once()
    try:
        text = decode_x12(data)
    except X12Error as exc:
        return (ValidatorIssue("file", None, None, None, "encoding", str(exc)),)
    report = io.StringIO()
    logger = logging.getLogger("pyx12")
    records = _Collector()
    saved = (logger.propagate, logger.level)
    logger.addHandler(records)
    logger.propagate = False
    logger.setLevel(logging.ERROR)
    try:
        valid = pyx12.x12n_document.x12n_document(
            pyx12.params.ParamsBase(), io.StringIO(text), None, None, None, fd_json=report
        )
    except pyx12.errors.X12Error as exc:
        return (ValidatorIssue("file", None, None, None, "pyx12", str(exc)),)
    except pyx12.errors.EngineError as exc:
        return (ValidatorIssue("file", None, None, None, "pyx12-engine", str(exc)),)
    finally:
        logger.removeHandler(records)
        logger.propagate, _ = saved
        logger.setLevel(saved[1])
    issues = _issues(json.loads(report.getvalue())) if report.getvalue() else []
    if not valid and not issues:
        issues = [
            ValidatorIssue("file", None, None, None, "pyx12", _STREAM_REPR.sub("the file", message))
            for message in records.messages
        ]
        if not issues:
            issues = [ValidatorIssue("file", None, None, None, "pyx12", "pyx12 rejected the file without a reason")]
    return tuple(issues)


_map_lock = threading.Lock()
_parsed_maps: dict[tuple[str, str | None, str], bytes] = {}


def _load_maps_once() -> None:
    """pyx12 parses its XML maps (about 0.2 s of CPU) on every document it validates; a process that validates
    many documents (the test suite, a batch check) parses each map once. pyx12 counts segments on the map
    objects while it walks a document, so every document gets its own copy: the parsed map is kept pickled,
    and unpickled (a tenth of the parse) per load."""
    import pyx12.map_if

    loader = pyx12.map_if.load_map_file
    if getattr(loader, "claimflow_cached", False):
        return

    def load_map_file(map_file: str, param: Any, map_path: str | None = None) -> Any:
        key = (map_file, map_path, repr(sorted(getattr(param, "params", {}).items())))
        with _map_lock:
            parsed = _parsed_maps.get(key)
            if parsed is None:
                parsed = _parsed_maps[key] = pickle.dumps(loader(map_file, param, map_path), pickle.HIGHEST_PROTOCOL)
        return pickle.loads(parsed)  # noqa: S301 - bytes this process pickled itself, from pyx12's own maps

    load_map_file.claimflow_cached = True  # type: ignore[attr-defined]
    pyx12.map_if.load_map_file = load_map_file


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _issues(report: dict[str, Any]) -> list[ValidatorIssue]:
    issues: list[ValidatorIssue] = []
    for interchange in report.get("interchanges", []):
        issues.extend(_envelope_issues("interchange", "ISA", interchange))
        for group in interchange.get("groups", []):
            issues.extend(_envelope_issues("group", "GS", group))
            for transaction in group.get("transactions", []):
                issues.extend(_envelope_issues("transaction", "ST", transaction))
                for segment in transaction.get("segments", []):
                    segment_id, position = segment.get("seg_id"), segment.get("cur_line")
                    for error in segment.get("errors", []):
                        issues.append(
                            ValidatorIssue(
                                "segment", segment_id, position, None, str(error["err_cde"]), error["err_str"]
                            )
                        )
                    for element in segment.get("elements", []):
                        place = _element_place(element)
                        for error in element.get("errors", []):
                            issues.append(
                                ValidatorIssue(
                                    "element", segment_id, position, place, str(error["err_cde"]), error["err_str"]
                                )
                            )
    return issues


def _envelope_issues(level: str, segment_id: str, node: dict[str, Any]) -> list[ValidatorIssue]:
    return [
        ValidatorIssue(level, segment_id, node.get("cur_line"), None, str(error["err_cde"]), error["err_str"])
        for error in node.get("errors", [])
    ]


def _element_place(element: dict[str, Any]) -> str | None:
    position = element.get("ele_pos")
    if position is None:
        return None
    place = f"{int(position):02d}"
    if element.get("subele_pos") is not None:
        place += f"-{element['subele_pos']}"
    return place
