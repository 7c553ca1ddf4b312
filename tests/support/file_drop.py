"""The billing loop on a file-drop clearinghouse, the test playing the payer: intake, claims (837s out, 999/277CA
in) and remittance (835s in) started side by side, fast windows; the sandbox answers in a folder of its own and
the test moves its answers into the services' inbound box when it chooses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cli.services import ServiceProcess
from tests.support.pipeline import Pipeline

FAST = "0.2"


@dataclass(frozen=True)
class FileDrop:
    folder: Path
    """The services' clearinghouse folder: outbound/ (what they send), inbound/ (what they read)."""
    sandbox_folder: Path
    """The sandbox clearinghouse's own folder, answered by `FolderClearinghouse(sandbox_folder, rules)`."""

    @property
    def env(self) -> dict[str, str]:
        """A service's environment for this file drop."""
        return {"CLAIMFLOW_CLEARINGHOUSE_TRANSPORT": "file_drop", "CLAIMFLOW_CLEARINGHOUSE_FOLDER": str(self.folder)}


def file_drop(tmp_path: Path) -> FileDrop:
    drop = FileDrop(folder=tmp_path / "clearinghouse", sandbox_folder=tmp_path / "sandbox")
    for sub in ("outbound", "inbound"):
        (drop.folder / sub).mkdir(parents=True)
        (drop.sandbox_folder / sub).mkdir(parents=True)
    return drop


def fast_billing(tenant: str, clearinghouse: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The environments of claims and remittance on `clearinghouse` (a service's clearinghouse settings), their
    windows and polls short, remittance posting `tenant`'s inbound 835s."""
    return {
        "claims": {
            "CLAIMFLOW_CLAIMS_BATCH_INTERVAL_S": FAST,
            "CLAIMFLOW_CLAIMS_ACKNOWLEDGMENT_INTERVAL_S": FAST,
            **clearinghouse,
        },
        "remittance": {
            "CLAIMFLOW_REMITTANCE_INBOUND_TENANT": tenant,
            "CLAIMFLOW_REMITTANCE_INBOUND_INTERVAL_S": FAST,
            **clearinghouse,
        },
    }


async def start_billing_loop(
    services: Pipeline, tenant: str, drop: FileDrop, more: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, ServiceProcess]:
    """intake, claims and remittance (posting `tenant`'s inbound 835s) on `drop`, and the `more` services with
    their own environment, all started at once; returns once every one is ready."""
    return await services.start_together(
        {"intake": {}, **fast_billing(tenant, drop.env), **{name: dict(env) for name, env in (more or {}).items()}}
    )


async def start_claims_on_file_drop(services: Pipeline, folder: Path, **extra_env: str) -> ServiceProcess:
    """claims alone, sending its 837s into `folder` (outbound/) and reading answers from its inbound/, its batch
    window short; `extra_env` adds to or overrides its environment."""
    return await services.start(
        "claims",
        CLAIMFLOW_CLAIMS_BATCH_INTERVAL_S=FAST,
        CLAIMFLOW_CLEARINGHOUSE_TRANSPORT="file_drop",
        CLAIMFLOW_CLEARINGHOUSE_FOLDER=str(folder),
        **extra_env,
    )
