"""The development token opens every endpoint: it carries each scope the services ask for."""

from __future__ import annotations

import re
from pathlib import Path

from cli.pipeline import ALL_SCOPES

SERVICES = Path(__file__).resolve().parents[3] / "services"


def test_dev_token_carries_every_scope_the_services_require() -> None:
    required = {
        scope
        for api in SERVICES.glob("*/*api.py")
        for scope in re.findall(r'require_scope\("([^"]+)"\)', api.read_text())
    }
    assert required, "no scopes found: the scan is broken"
    assert required <= set(ALL_SCOPES), sorted(required - set(ALL_SCOPES))
