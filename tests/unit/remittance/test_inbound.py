"""Inbound 835s: which tenant a file from the clearinghouse box belongs to, and the rejection a bad file gets."""

from __future__ import annotations

import pytest

from services.remittance.domain.inbound import InboundRouting, NoTenant
from services.remittance.domain.x12_835 import parse_835
from services.remittance.service import RemittanceRejected, parse_remittance
from services.remittance.settings import RemittanceSettings
from tests.support.remittance_builder import paid_claim, remittance_file

PAYEE = "1234567893"


def advices(payee: str = PAYEE, *, trace: str = "T1") -> list:  # type: ignore[type-arg]
    return parse_835(remittance_file([paid_claim("C1")], trace=trace).replace(f"XX*{PAYEE}", f"XX*{payee}"))


class TestTenantFor:
    def test_a_mapped_payee_names_its_tenant(self) -> None:
        routing = InboundRouting(payee_tenants={PAYEE: "clinic-a", "1999999984": "clinic-b"})
        assert routing.tenant_for(advices()) == "clinic-a"

    def test_an_unmapped_payee_falls_back_to_the_default_tenant(self) -> None:
        routing = InboundRouting(default_tenant="clinic-a", payee_tenants={"1999999984": "clinic-a"})
        assert routing.tenant_for(advices()) == "clinic-a"

    def test_a_default_tenant_beside_other_tenants_payees_is_refused(self) -> None:
        """Both tenants number claims from CF0000000001: an unmapped payee of clinic-b would be matched by
        CLP01 inside clinic-a."""
        with pytest.raises(ValueError, match="CLP01") as refused:
            InboundRouting(default_tenant="clinic-a", payee_tenants={"1999999984": "clinic-b"})
        assert "'clinic-b'" in str(refused.value)

    def test_no_rule_at_all_refuses_the_file_at_the_payee(self) -> None:
        with pytest.raises(NoTenant) as refused:
            InboundRouting(payee_tenants={"1999999984": "clinic-b"}).tenant_for(advices())
        assert refused.value.detail["segment_id"] == "N1"
        assert isinstance(refused.value.detail["position"], int)
        assert "CLAIMFLOW_REMITTANCE_INBOUND_PAYEE_TENANTS" in str(refused.value.detail["reason"])

    def test_a_file_paying_two_tenants_is_refused(self) -> None:
        routing = InboundRouting(payee_tenants={PAYEE: "clinic-a", "1999999984": "clinic-b"})
        with pytest.raises(NoTenant, match="several tenants"):
            routing.tenant_for(advices() + advices("1999999984", trace="T2"))

    def test_several_transactions_of_one_tenant_are_fine(self) -> None:
        routing = InboundRouting(default_tenant="clinic-a")
        assert routing.tenant_for(advices() + advices("1999999984", trace="T2")) == "clinic-a"


def test_settings_read_the_payee_map_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMFLOW_REMITTANCE_INBOUND_PAYEE_TENANTS", '{"1234567893": "clinic-a"}')
    settings = RemittanceSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.inbound_payee_tenants == {PAYEE: "clinic-a"} and settings.inbound_configured
    monkeypatch.delenv("CLAIMFLOW_REMITTANCE_INBOUND_PAYEE_TENANTS")
    assert not RemittanceSettings(_env_file=None).inbound_configured  # type: ignore[call-arg]


def test_settings_refuse_a_default_tenant_beside_other_tenants_payees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMFLOW_REMITTANCE_INBOUND_PAYEE_TENANTS", '{"1999999984": "clinic-b"}')
    monkeypatch.setenv("CLAIMFLOW_REMITTANCE_INBOUND_TENANT", "clinic-a")
    with pytest.raises(ValueError, match="CLAIMFLOW_REMITTANCE_INBOUND_TENANT"):
        RemittanceSettings(_env_file=None)  # type: ignore[call-arg]


class TestParseRemittance:
    def test_a_truncated_file_names_segment_and_position(self) -> None:
        good = remittance_file([paid_claim("C1")])
        with pytest.raises(RemittanceRejected) as rejected:
            parse_remittance(good[: good.index("GE*")].encode())
        assert rejected.value.detail["segment_id"] and isinstance(rejected.value.detail["position"], int)

    @pytest.mark.parametrize("body", [b"", b"\xff\xfe not x12 at all"])
    def test_nothing_readable_is_refused_with_a_reason(self, body: bytes) -> None:
        with pytest.raises(RemittanceRejected) as rejected:
            parse_remittance(body)
        assert rejected.value.detail["reason"]

    def test_a_good_file_gives_its_transactions(self) -> None:
        assert [
            advice.trace.trace_number
            for advice in parse_remittance(remittance_file([paid_claim("C1")], trace="T1").encode())
        ] == ["T1"]
