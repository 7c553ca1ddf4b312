"""Whose money an 835 from the clearinghouse inbound box is: the tenant, from the payee.

An uploaded file's tenant is the uploader's credential; a file from the inbound box has none.
The rule: each transaction set's payee id (N1*PE N104, an NPI or a TIN) is looked up in a
configured payee -> tenant map; a payee not in the map falls back to the default inbound tenant.
Every transaction set of one file must land on the same tenant (a file is posted in one
transaction, under one tenant); otherwise, or when no tenant applies, the file is refused.
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


@dataclass(frozen=True, slots=True)
class InboundRouting:
    default_tenant: str | None = None
    payee_tenants: Mapping[str, str] = field(default_factory=dict)

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
