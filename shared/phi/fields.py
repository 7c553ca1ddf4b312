"""The PHI inside a JSON document, split out to be sealed and merged back when read, pure.

A path names a value by its keys, `[]` standing for every item of a list: `phi`, `billing_provider.tax_id`,
`line_providers[].tax_id`. A document is split by its top-level keys: every key whose value holds a value at
one of the paths (not None) is taken out whole, so putting it back is a dict update, and a reader holding the
rest as JSON text can append the sealed part's members to it without parsing either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from pydantic import BaseModel

ITEMS = "[]"


@cache
def _segments(path: str) -> tuple[str, ...]:
    out: list[str] = []
    for part in path.split("."):
        name, items = (part[: -len(ITEMS)], True) if part.endswith(ITEMS) else (part, False)
        out.append(name)
        if items:
            out.append(ITEMS)
    return tuple(out)


def _holds(value: Any, segments: tuple[str, ...]) -> bool:
    """Whether `value` has something other than None at `segments`."""
    if not segments:
        return value is not None
    head, rest = segments[0], segments[1:]
    if head == ITEMS:
        return isinstance(value, list) and any(_holds(item, rest) for item in value)
    return isinstance(value, Mapping) and _holds(value.get(head), rest)


@cache
def _heads(paths: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((segments[0], segments[1:]) for segments in map(_segments, paths))


def split(document: Mapping[str, Any], paths: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the document without the top-level keys holding a value at `paths`, those keys and their values)."""
    taken: dict[str, Any] = {}
    for head, rest in _heads(tuple(paths)):
        if head in taken:
            continue
        value = document.get(head)
        if value is not None and _holds(value, rest):
            taken[head] = value
    plain = dict(document)  # a copy, then the few taken keys deleted: the others keep their order
    for key in taken:
        del plain[key]
    return plain, taken


def merged(plain: Mapping[str, Any], taken: Mapping[str, Any]) -> dict[str, Any]:
    """The document `split` took apart."""
    return {**plain, **taken}


def merged_text(plain: str, taken: bytes) -> str:
    """`merged` on JSON text: the plain document's text (an object with at least one member) with the members
    of `taken` (a JSON object, possibly empty) appended."""
    members = taken.strip()[1:-1].strip()
    if not members:
        return plain
    body = plain.rstrip()
    if not body.endswith("}"):
        raise ValueError("not a JSON object")
    separator = "" if body[:-1].rstrip() == "{" else ", "
    return f"{body[:-1]}{separator}{members.decode()}}}"


@cache
def marked_paths(model: type[BaseModel]) -> tuple[str, ...]:
    """The paths of every field the model's JSON Schema marks `x-phi` (the outermost mark; what it holds is
    PHI as a whole)."""
    schema = model.model_json_schema()
    definitions: dict[str, Any] = schema.get("$defs", {})
    paths: list[str] = []

    def resolve(spec: Mapping[str, Any], seen: frozenset[str]) -> list[tuple[Mapping[str, Any], frozenset[str]]]:
        if "$ref" in spec:
            name = str(spec["$ref"]).rsplit("/", 1)[-1]
            return [] if name in seen else [(definitions[name], seen | {name})]
        variants = spec.get("anyOf") or spec.get("oneOf")
        if variants:
            return [resolved for variant in variants for resolved in resolve(variant, seen)]
        return [(spec, seen)]

    def walk(spec: Mapping[str, Any], prefix: str, seen: frozenset[str]) -> None:
        for resolved, inside in resolve(spec, seen):
            if resolved.get("type") == "array" and "items" in resolved:
                walk(resolved["items"], prefix + ITEMS, inside)
            for name, field in resolved.get("properties", {}).items():
                path = f"{prefix}.{name}" if prefix else name
                if field.get("x-phi"):
                    paths.append(path)
                else:
                    walk(field, path, inside)

    walk(schema, "", frozenset())
    return tuple(dict.fromkeys(paths))
