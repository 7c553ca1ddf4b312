"""Where the running services answer: written by `claimflow up`, read by `claimflow demo` and the console."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from cli.stack.paths import find_repo_root

ENDPOINTS_FILE = Path(".local") / "services.json"


@dataclass(frozen=True, slots=True)
class ServiceUrls:
    """Base URLs of the five services (no trailing slash)."""

    intake: str
    claims: str
    remittance: str
    denials: str
    notifications: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, urls: dict[str, str]) -> ServiceUrls:
        return cls(**{name: urls[name].rstrip("/") for name in SERVICE_KEYS})


SERVICE_KEYS = ("intake", "claims", "remittance", "denials", "notifications")


def endpoints_path(root: Path | None = None) -> Path:
    return (root or find_repo_root()) / ENDPOINTS_FILE


def save_service_urls(urls: ServiceUrls, root: Path | None = None) -> Path:
    path = endpoints_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(urls.as_dict(), indent=2))
    return path


def load_service_urls(root: Path | None = None) -> ServiceUrls | None:
    """The URLs `claimflow up` recorded, or None when nothing is running."""
    path = endpoints_path(root)
    if not path.exists():
        return None
    return ServiceUrls.from_dict(json.loads(path.read_text()))
