"""Synthetic 835 text for tests: invented payers, providers and patients only.

Bodies are written with the default delimiters (* : ~); `enveloped` wraps them in
ISA/GS/ST...SE/GE/IEA with correct counts unless told otherwise.
"""

from __future__ import annotations

ISA_CONTROL = "000000101"
GROUP_CONTROL = "101"


def isa(control: str = ISA_CONTROL, *, version: str = "00501", repetition: str = "^", component: str = ":") -> str:
    return (
        "ISA*00*          *00*          *ZZ*SYNTHPAYER     *ZZ*SYNTHPROV      *260101*1200*"
        f"{repetition}*{version}*{control}*0*T*{component}"
    )


def enveloped(
    *bodies: str,
    version: str = "005010X221A1",
    functional_id: str = "HP",
    transaction_id: str = "835",
    se_counts: dict[int, int] | None = None,
    line_break: str = "\n",
) -> str:
    """An interchange holding one transaction set per body (segments separated by "~")."""
    segments = [isa(), f"GS*{functional_id}*SYNTHPAYER*SYNTHPROV*20260101*1200*{GROUP_CONTROL}*X*{version}"]
    for number, body in enumerate(bodies, start=1):
        body_segments = [segment.strip() for segment in body.split("~") if segment.strip()]
        control = f"{number:04d}"
        count = (se_counts or {}).get(number, len(body_segments) + 2)
        segments += [f"ST*{transaction_id}*{control}", *body_segments, f"SE*{count}*{control}"]
    segments += [f"GE*{len(bodies)}*{GROUP_CONTROL}", f"IEA*1*{ISA_CONTROL}"]
    return "".join(segment + "~" + line_break for segment in segments)


# One payment touching every loop of 005010X221A1. Positions in the enveloped file:
# ISA 1, GS 2, ST 3, then the body from BPR 4 (positions listed below it).
FULL_BODY = """
BPR*I*570.00*C*ACH*CCP*01*999999999*DA*123456*1999999999**01*888888888*DA*654321*20260105~
TRN*1*EFT0001*1999999999*SUPPL~
CUR*PR*USD~
REF*EV*SYNTHRECEIVER~
DTM*405*20260102~
N1*PR*SYNTHETIC HEALTH PLAN~
N3*1 TEST WAY*SUITE 9~
N4*TESTVILLE*CA*90000~
REF*2U*SYN01~
PER*CX*CLAIMS DESK*TE*5550000000~
PER*BL*EDI DESK*EM*edi@example.invalid*TE*5550000009~
N1*PE*SYNTHETIC CLINIC*XX*1234567893~
N3*2 SAMPLE ST~
N4*SAMPLETOWN*CA*90001~
REF*TJ*999999999~
RDM*EM*BILLING*billing@example.invalid~
LX*1~
TS3*1234567893*11*20261231*1*1050.00********100.00~
TS2*100.00*50.00~
CLP*SYN-CLAIM-1*1*1050.00*700.00*150.00*12*PAYERCCN1*11*1**DRG1*1.2500*0.5~
CAS*CO*45*50.00~
NM1*QC*1*TESTPATIENT*ALPHA*Q**JR*MI*SYN000001~
NM1*IL*1*TESTINSURED*BETA****MI*SYN000002~
NM1*74*1*TESTCORRECTED*GAMMA~
NM1*82*1*TESTDOCTOR*DELTA****XX*1234567893~
NM1*TT*2*CROSSOVER PLAN*****PI*SYN77~
NM1*PR*2*PRIORITY PLAN*****PI*SYN88~
MIA*2***500.00*MA01~
MOA*0.8*10.00*MA01*MA02~
REF*1L*GROUP123~
REF*EA*RECORD000~
DTM*232*20251201~
DTM*233*20251202~
DTM*050*20251215~
PER*CX*CLAIM CONTACT*TE*5550000001~
AMT*AU*900.00~
QTY*CA*2~
SVC*HC:99213:25:59*600.00*420.00**1*HC:99214*1~
DTM*472*20251201~
CAS*PR*1*100.00*1*2*30.00**3*20.00~
CAS*CO*45*30.00~
REF*6R*LINE-1~
REF*LU*11~
AMT*B6*550.00~
QTY*ZK*1~
LQ*HE*N130~
LQ*HE*M15~
SVC*NU:0450*400.00*280.00*0450*2~
DTM*150*20251201~
DTM*151*20251202~
CAS*CO*45*100.00*0*253*20.00~
REF*6R*LINE-2~
LX*2~
CLP*SYN-CLAIM-2*4*250.00*0**12*PAYERCCN2*11*1~
CAS*CO*16*10.00**18*20.00**29*30.00**50*40.00**96*50.00**97*100.00~
NM1*QC*1*TESTPATIENT*EPSILON****MI*SYN000003~
CLP*SYN-CLAIM-3*22*-200.00*-150.00**12*PAYERCCN3*11*7~
CAS*CO*45*-50.00~
NM1*QC*1*TESTPATIENT*ZETA****MI*SYN000004~
PLB*1234567893*20261231*WO:REF1*-25.00*L6:INT*5.00~
"""
# Positions: BPR 4, TRN 5, CUR 6, REF 7, DTM 8, N1*PR 9, N1*PE 15, LX 20, TS3 21, TS2 22,
# CLP 1 23, its CAS 24, first SVC 41, its CAS 43 and 44, second SVC 51, its CAS 54, LX 56,
# CLP 2 57, CLP 3 60, PLB 63, SE 64.

MINIMAL_BODY = """
BPR*I*100.00*C*CHK************20260105~
TRN*1*CHK0001*1999999999~
N1*PR*SYNTHETIC HEALTH PLAN~
N1*PE*SYNTHETIC CLINIC*XX*1234567893~
LX*1~
CLP*SYN-MIN-1*1*120.00*100.00*20.00*12*PAYERCCN9~
NM1*QC*1*TESTPATIENT*ETA~
SVC*HC:99212*120.00*100.00**1~
CAS*PR*2*20.00~
"""
# Positions: BPR 4, TRN 5, N1*PR 6, N1*PE 7, LX 8, CLP 9, NM1 10, SVC 11, CAS 12, SE 13.
