"""pyx12's verdict on an X12 document as plain strings, for assertions like ``== []``.

A thin wrapper over the project's pyx12 adapter (``shared.x12.pyx12_validation``), which
runs ``pyx12.x12n_document`` in-process and reads back its JSON error report.
"""

from __future__ import annotations

from shared.x12.pyx12_validation import validate_with_pyx12


def pyx12_errors(x12_text: str) -> list[str]:
    """Every error pyx12 reports for this X12 document; empty means it validates."""
    return [str(issue) for issue in validate_with_pyx12(x12_text)]
