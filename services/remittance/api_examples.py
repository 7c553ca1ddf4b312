"""Curated OpenAPI examples of the remittance API: an 835 upload, a suspense match, a patient payment
and a payment plan (synthetic data)."""

from __future__ import annotations

from shared.openapi import OperationExamples

REMITTANCE_835 = (
    "ISA*00*          *00*          *ZZ*SANDBOXCH      *ZZ*CLAIMFLOW01    *260320*1000*^*00501*000000101*0*T*:~"
    "GS*HP*SANDBOXCH*CLAIMFLOW01*20260320*1000*101*X*005010X221A1~"
    "ST*835*0001~"
    "BPR*I*120*C*ACH*CCP*01*999999999*DA*123456*1999999999**01*999999999*DA*654321*20260320~"
    "TRN*1*SBXEFT00000000101*1999999999~"
    "DTM*405*20260320~"
    "N1*PR*SANDBOX HEALTH PLAN~"
    "N3*1 PAYER PLAZA~"
    "N4*SPRINGFIELD*IL*62702~"
    "N1*PE*EXAMPLE FAMILY CLINIC*XX*1234567893~"
    "LX*1~"
    "CLP*CF0000000001*1*155*120*0*12*SBX263330000001~"
    "NM1*QC*1*DOE*JANE****MI*SYN000000101~"
    "SVC*HC:99213*125*100~"
    "DTM*472*20260302~"
    "CAS*CO*45*25~"
    "SVC*HC:87880:QW*30*20~"
    "DTM*472*20260302~"
    "CAS*CO*45*10~"
    "SE*18*0001~"
    "GE*1*101~"
    "IEA*1*000000101~"
)

EXAMPLES: dict[tuple[str, str], OperationExamples] = {
    ("POST", "/v1/remittances"): OperationExamples(REMITTANCE_835),
    ("POST", "/v1/suspense/{payment_id}/match"): OperationExamples({"claim_control_number": "CF0000000001"}),
    ("POST", "/v1/accounts/{patient_id}/payments"): OperationExamples(
        {"amount_cents": 2500, "currency": "USD", "method": "card", "received_on": "2026-04-02"}
    ),
    ("POST", "/v1/accounts/{patient_id}/payment-plans"): OperationExamples(
        {"installments": 3, "first_due": "2026-05-01"}
    ),
}
