"""Changes to registered records: which fields two versions of a record disagree on, and a JSON merge
patch (RFC 7396) applied to a stored record. Pure: records here are the JSON of validated requests."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

JsonValue = object


def differing_fields(before: Mapping[str, object], after: Mapping[str, object], prefix: str = "") -> list[str]:
    """Dotted paths of the fields whose values differ (nested objects compared field by field; lists whole,
    by index when both are lists of the same length). A field absent on one side equals null."""
    paths: list[str] = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        path = f"{prefix}{name}"
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            paths += differing_fields(old, new, f"{path}.")
        elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
            for index, (old_item, new_item) in enumerate(zip(old, new, strict=True)):
                if isinstance(old_item, Mapping) and isinstance(new_item, Mapping):
                    paths += differing_fields(old_item, new_item, f"{path}.{index}.")
                elif old_item != new_item:
                    paths.append(f"{path}.{index}")
        elif old != new:
            paths.append(path)
    return paths


def merge_patch(target: JsonValue, patch: JsonValue) -> JsonValue:
    """RFC 7396: an object patch merges member by member (null removes a member); anything else replaces."""
    if not isinstance(patch, Mapping):
        return patch
    merged: dict[str, JsonValue] = dict(target) if isinstance(target, Mapping) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged


def entity_tag(record: Mapping[str, object]) -> str:
    """A strong ETag of a record's content (quoted, as the header carries it)."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def tag_matches(if_match: str, current: str) -> bool:
    """`If-Match`: `*` or any listed tag equal to the current one (weak tags never match a strong compare)."""
    tags = [tag.strip() for tag in if_match.split(",")]
    return "*" in tags or current in tags


@dataclass(frozen=True, slots=True)
class Resent:
    """A record sent again under a key the tenant used before, with other content."""

    loc: tuple[str | int, ...]
    existing_id: uuid.UUID
    differing: list[str]


class ConflictingResend(Exception):
    """A re-send under a known external id or NPI disagrees with what was stored: nothing is taken."""

    def __init__(self, resent: list[Resent]) -> None:
        super().__init__("; ".join(f"{', '.join(r.differing)} differ" for r in resent))
        self.resent = resent
