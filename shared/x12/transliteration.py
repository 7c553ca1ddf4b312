"""Names as an 837 can carry them: the patient's own spelling transliterated, deterministically, to the
X12 basic character set (upper-case letters, digits, space and ``! " & ' ( ) + , - . / ; ? =``);
printable ASCII the writer already accepts (``# @ %`` ...) passes through, upper-cased.

José Núñez becomes JOSE NUNEZ and O'Brien (with a straight or a curly apostrophe) OBRIEN; the record
keeps the spelling the patient gave. Intake refuses, with ``name_problem``, what has no faithful
basic-set form: the X12 delimiters ``* ~ : ^``, control and bidirectional-override characters,
emoji and other symbols, and letters of scripts that have no Latin transliteration here.
"""

from __future__ import annotations

import unicodedata

BASIC_PUNCTUATION = frozenset("!\"&'()+,-./;?= ")
"""The basic set's special characters that may appear in a name (X12 delimiters excluded)."""

_DROPPED = frozenset("'\u2018\u2019\u02bc\u02bb\u0060\u00b4")
"""Apostrophes of every kind: O'Brien is OBRIEN, as payers' eligibility files spell it."""

_SPELLED = {
    "ß": "SS", "ẞ": "SS", "Æ": "AE", "æ": "AE", "Œ": "OE", "œ": "OE", "Ø": "O", "ø": "O", "Ł": "L", "ł": "L",
    "Đ": "D", "đ": "D", "Ð": "D", "ð": "D", "Þ": "TH", "þ": "TH", "\u0131": "I", "Ħ": "H", "ħ": "H", "\u0138": "K",
    "Ŋ": "NG", "ŋ": "NG", "Ŧ": "T", "ŧ": "T",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u201c": '"', "\u201d": '"', "\u00a0": " ",
}  # fmt: skip
"""Letters and marks that Unicode decomposition does not reduce to A-Z, and typographic dashes/quotes."""

DELIMITERS = frozenset("*~:^")


def transliterate(text: str) -> str:
    """``text`` in the X12 basic character set, upper case; ``ValueError`` when it has no such form."""
    out: list[str] = []
    for char in text:
        if char in _DROPPED:
            continue
        spelled = _SPELLED.get(char)
        if spelled is not None:
            out.append(spelled)
            continue
        if char.isascii():
            if char in DELIMITERS or not char.isprintable():
                raise ValueError(f"{char!r} cannot be sent in an X12 claim")
            out.append(char.upper())
            continue
        base = [c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)]
        if not base or not all(c.isascii() and (c.isalnum() or c in BASIC_PUNCTUATION) for c in base):
            raise ValueError(f"{char!r} ({unicodedata.name(char, 'unnamed character')}) has no X12 form")
        out.append("".join(base).upper())
    result = " ".join("".join(out).split())
    if not result:
        raise ValueError("nothing is left of it in the X12 character set")
    return result


def name_problem(text: str, max_length: int) -> str | None:
    """Why ``text`` cannot be a name in an 837 of at most ``max_length`` characters, or None."""
    try:
        sent = transliterate(text)
    except ValueError as exc:
        return f"{exc}; use letters, digits, spaces and - ' . , only"
    if len(sent) > max_length:
        return f"is {len(sent)} characters as sent in the claim ({sent}); at most {max_length} fit"
    return None
