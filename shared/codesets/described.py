"""A code and its meaning, as every service's responses show them beside the raw code field.

Responses keep their raw keys (`carc`, `status_code`, `answer_codes`) for integrations that read
them, and add `*_description` or a list of these objects alongside.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from shared.codesets import CodeKind, describe


class DescribedCode(BaseModel):
    code: str
    description: str | None = Field(description="From the loaded code sets; null when no list knows the code.")


def described(kind: CodeKind, codes: Iterable[str]) -> list[DescribedCode]:
    return [DescribedCode(code=code, description=describe(kind, code)) for code in codes]
