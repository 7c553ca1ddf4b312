"""Whose money an 835 from the clearinghouse inbound box is: the tenant, from the payee.

An uploaded file's tenant is the uploader's credential; a file from the inbound box has none.
The rule: each transaction set's payee id (N1*PE N104, an NPI or a TIN) is looked up in a
configured payee -> tenant map; a payee not in the map falls back to the default inbound tenant.
Every transaction set of one file must land on the same tenant (a file is posted in one
transaction, under one tenant); otherwise, or when no tenant applies, the file is refused.

A default tenant is only for a deployment whose map names no other tenant. Claim numbers (CLM01,
echoed in CLP01) are numbered per tenant, so another tenant's unmapped payee would find claims by
CLP01 inside the default tenant and post a payment to the wrong practice's claim. Such a
configuration is refused when the service starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.remittance.domain.rejection import Rejection
from services.remittance.domain.remittance_advice import RemittanceAdvice


class NoTenant(Exception):
    """The file cannot be given to exactly one tenant; `detail` says why and where."""

    def __init__(self, detail: Rejection) -> None:
        super().__init__(detail["reason"])
        self.detail = detail


def ambiguous_default(default_tenant: str | None, payee_tenants: Mapping[str, str]) -> str | None:
    """Why this routing could post one tenant's payment to another's claim, or None when it cannot."""
    others = sorted({tenant for tenant in payee_tenants.values() if tenant != default_tenant})
    if default_tenant is None or not others:
        return None
    return (
        f"a default inbound tenant ({default_tenant!r}) beside a payee map naming other tenants "
        f"({', '.join(map(repr, others))}) would match an unmapped payee's CLP01 inside the default tenant, "
        "where another practice's claim can carry the same number; map every payee in "
        "CLAIMFLOW_REMITTANCE_INBOUND_PAYEE_TENANTS and unset CLAIMFLOW_REMITTANCE_INBOUND_TENANT"
    )


@dataclass(frozen=True, slots=True)
class InboundRouting:
    default_tenant: str | None = None
    payee_tenants: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (reason := ambiguous_default(self.default_tenant, self.payee_tenants)) is not None:
            raise ValueError(reason)

    def tenant_for(self, advices: Sequence[RemittanceAdvice]) -> str:
        tenants: dict[str, RemittanceAdvice] = {}
        for advice in advices:
            tenant = self.payee_tenants.get(advice.payee.id) or self.default_tenant
            if tenant is None:
                raise NoTenant(
                    {
                        "reason": f"no tenant for payee id {advice.payee.id!r} (N1*PE N104); map it in "
                        "CLAIMFLOW_REMITTANCE_INBOUND_PAYEE_TENANTS or set CLAIMFLOW_REMITTANCE_INBOUND_TENANT",
                        "segment_id": "N1",
                        "position": advice.payee.position,
                    }
                )
            tenants.setdefault(tenant, advice)
        if len(tenants) > 1:
            second = list(tenants.values())[1]
            raise NoTenant(
                {
                    "reason": "the file pays payees of several tenants; each tenant's remittances must come "
                    "in files of their own",
                    "segment_id": "N1",
                    "position": second.payee.position,
                }
            )
        if not tenants:
            raise NoTenant({"reason": "the file holds no 835 transaction set", "segment_id": None, "position": None})
        return next(iter(tenants))

    @property
    def fallback_tenant(self) -> str | None:
        """Whose record a file that cannot be read at all is kept under."""
        return self.default_tenant
