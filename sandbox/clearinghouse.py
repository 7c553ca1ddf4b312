"""The sandbox clearinghouse and payer: answers every 837 dropped in a folder with a 999, 277CAs and 835s.

The claims service reaches it exactly as it would a real file-drop clearinghouse
(``shared.clearinghouse.FileDropAdapter`` on the same folder): it drops 837s into
``outbound/``; the sandbox moves each one to ``.sandbox/received/`` and writes its answers
into ``inbound/`` atomically. It never imports service code beyond the pure domain modules.

For each 837 file:
- a 999 per file (one 999 transaction per functional group): IK3/IK4 locate syntax errors,
  a transaction set with any is rejected (IK5*R) and gets nothing else;
- a 277CA per accepted transaction set: each claim accepted (A2:20, with a payer claim
  number in REF*1K) or rejected by the front-end edits below (A6/A7 with status codes);
- an 835 per payer for the accepted claims, priced by ``sandbox.rules``. A void (CLM05-3=8) is
  acknowledged and answered with the reversal (CLP02 22) of the claim its REF*F8 names, when the
  sandbox adjudicated that claim and has not reversed it yet (see ``PaidClaims``); a check that
  reversals leave negative pays nothing and carries the debt forward (PLB FB).

Appeal letters (``APPEAL-<CLM01>-L<level>-<id>.pdf``, as the denials service sends them) are
answered with an 835 by the table in ``sandbox.appeals`` and filed in ``.sandbox/appeals/``.

Each 270 eligibility inquiry is answered with one 271 (``<stem>.271``) by ``sandbox.eligibility``:
active coverage for the calendar year with a $25 office copay, or, for a member id starting with
``BAD``, an AAA 72 (invalid member id) rejection.

Front-end edits (277CA rejections): subscriber id missing (A6:164:IL) or not 6-20 letters and
digits (A7:164:IL); billing provider NPI failing its check digit (A7:562:85); line charges
not adding up to CLM02 (A7:400, claim out of balance); service dated after receipt (A7:187); the
REJECT scenario (member id ``SBXREJECT…``, see ``sandbox.rules.SCENARIOS``): subscriber not found
(A3:33:IL).

    python -m sandbox.clearinghouse --folder DIR [--once] [--rules rules.json] [--interval 1.0]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sandbox.appeals import answer_appeal, appeal_of
from sandbox.claims_837 import Received837, ReceivedClaim, UnreadableFileError, read_837
from sandbox.eligibility import is_270, read_270, write_271
from sandbox.responses import ClaimVerdict, Envelope, Party, PayerDetails, write_277ca, write_835, write_999
from sandbox.rules import (
    DEFAULT_RULES,
    AdjudicationRule,
    ClaimAdjudication,
    adjudicate,
    load_rules,
    reversal_of,
    scenario_of,
)
from shared.npi import npi_is_valid

log = logging.getLogger("claimflow.sandbox")

SANDBOX_IDENTITY = Party("ZZ", "SANDBOXCH")
SANDBOX_PAYER = PayerDetails()
_MEMBER_ID = re.compile(r"[A-Za-z0-9]{6,20}")


@dataclass(frozen=True, slots=True)
class Answer:
    """One file the sandbox sends back."""

    file_name: str
    content: bytes


def front_end_rejections(claim: ReceivedClaim, received_on: date) -> tuple[tuple[str, str, str], ...]:
    """STC01 (category, status, entity) for every front-end edit the claim fails; empty when it passes."""
    reasons: list[tuple[str, str, str]] = []
    if not claim.member_id:
        reasons.append(("A6", "164", "IL"))
    elif not _MEMBER_ID.fullmatch(claim.member_id):
        reasons.append(("A7", "164", "IL"))
    if not npi_is_valid(claim.billing_provider_npi):
        reasons.append(("A7", "562", "85"))
    if sum(line.charge_cents for line in claim.lines) != claim.charge_cents:
        reasons.append(("A7", "400", ""))
    _, end = claim.service_period()
    if end is not None and end > received_on:
        reasons.append(("A7", "187", ""))
    if scenario_of(claim.member_id, claim.control_number) == "REJECT":
        reasons.append(("A3", "33", "IL"))
    return tuple(reasons)


class PaidClaims:
    """The claims the sandbox payer adjudicated, by payer claim number, so that a void can be answered with
    the reversal of what was paid; each is reversed at most once. In memory; `FolderPaidClaims` keeps them
    beside the received 837s."""

    def __init__(self) -> None:
        self._adjudicated: dict[str, ClaimAdjudication] = {}
        self._reversed: set[str] = set()

    def record(
        self, payer_claim_number: str, file_name: str, received_on: date, adjudication: ClaimAdjudication
    ) -> None:
        self._adjudicated[payer_claim_number] = adjudication

    def take_for_reversal(self, payer_claim_number: str) -> ClaimAdjudication | None:
        """The adjudication a void names, once; None when unknown or already reversed."""
        original = self._adjudicated.get(payer_claim_number)
        if original is None or payer_claim_number in self._reversed:
            return None
        self._reversed.add(payer_claim_number)
        return original


class FolderPaidClaims(PaidClaims):
    """Paid claims recorded one JSON line each in ``.sandbox/payer-claims.jsonl`` (payer claim number, the received
    837's file name, CLM01, receipt date), appended as claims are adjudicated; a reversal appends a line marking
    it. A void's original is adjudicated again from the received file, so the same rules give the same amounts."""

    def __init__(self, private: Path, rules: tuple[AdjudicationRule, ...]) -> None:
        super().__init__()
        self.index = private / "payer-claims.jsonl"
        self.received = private / "received"
        self.rules = rules

    def record(
        self, payer_claim_number: str, file_name: str, received_on: date, adjudication: ClaimAdjudication
    ) -> None:
        claim = adjudication.claim.control_number
        self._append({"number": payer_claim_number, "file": file_name, "claim": claim, "received_on": str(received_on)})

    def take_for_reversal(self, payer_claim_number: str) -> ClaimAdjudication | None:
        entry: dict[str, str] | None = None
        if self.index.exists():
            for text in self.index.read_text().splitlines():
                line = json.loads(text)
                if line["number"] == payer_claim_number:
                    entry = None if line.get("reversed") else line
        if entry is None:
            return None
        received_on = date.fromisoformat(entry["received_on"])
        original = self._readjudicated(self.received / entry["file"], entry["claim"], received_on)
        if original is not None:
            self._append({"number": payer_claim_number, "reversed": True})
        return original

    def _append(self, line: dict[str, object]) -> None:
        self.index.parent.mkdir(parents=True, exist_ok=True)
        with self.index.open("a", encoding="utf-8") as index:
            index.write(json.dumps(line) + "\n")

    def _readjudicated(self, received: Path, control_number: str, received_on: date) -> ClaimAdjudication | None:
        if not received.exists():
            return None
        for interchange in read_837(received.read_bytes()):
            for group in interchange.groups:
                for transaction in group.transactions:
                    for claim in transaction.claims:
                        if claim.control_number == control_number and claim.frequency != "8":
                            return adjudicate(claim, received_on, self.rules)
        return None


class SandboxClearinghouse:
    """Answers 837 files. Keeps its own control-number and claim-number sequences (see ``state``)."""

    def __init__(
        self,
        rules: tuple[AdjudicationRule, ...] = DEFAULT_RULES,
        *,
        identity: Party = SANDBOX_IDENTITY,
        payer: PayerDetails = SANDBOX_PAYER,
        next_control_number: int = 1,
        next_claim_number: int = 1,
        paid_claims: PaidClaims | None = None,
    ) -> None:
        self.rules = rules
        self.identity = identity
        self.payer = payer
        self.next_control_number = next_control_number
        self.next_claim_number = next_claim_number
        self.paid_claims = paid_claims if paid_claims is not None else PaidClaims()

    @property
    def state(self) -> dict[str, int]:
        return {"next_control_number": self.next_control_number, "next_claim_number": self.next_claim_number}

    def _next_control_number(self) -> int:
        number = self.next_control_number
        self.next_control_number = 1 if number >= 999_999_999 else number + 1
        return number

    def _envelope(self, received: Received837, now: datetime) -> Envelope:
        number = self._next_control_number()
        return Envelope(
            sender=self.identity,
            receiver=Party(received.sender_qualifier, received.sender_id),
            interchange_control_number=number,
            group_control_number=number,
            created_at=now,
            usage=received.usage if received.usage in ("T", "P") else "T",
        )

    def _claim_number(self, received_on: date) -> str:
        number = self.next_claim_number
        self.next_claim_number += 1
        return f"SBX{received_on:%y%j}{number:07d}"

    def answer(self, file_name: str, content: bytes, now: datetime) -> list[Answer]:
        """Every file that answers one 837, named so that name order is 999, 277CA, 835.

        Raises ``UnreadableFileError`` when the file has no readable envelope.
        """
        stem = Path(file_name).stem
        received_on = now.date()
        answers: list[Answer] = []
        if is_270(content):
            for index, (sender_id, usage, inquiries) in enumerate(read_270(content)):
                number = self._next_control_number()
                envelope = Envelope(
                    sender=self.identity,
                    receiver=Party("ZZ", sender_id),
                    interchange_control_number=number,
                    group_control_number=number,
                    created_at=now,
                    usage=usage if usage in ("T", "P") else "T",
                )
                name = stem if index == 0 else f"{stem}-{index + 1}"
                answers.append(Answer(f"{name}.271", write_271(inquiries, envelope).encode()))
            return answers
        for index, received in enumerate(read_837(content)):
            prefix = stem if index == 0 else f"{stem}-{index + 1}"
            answers.append(Answer(f"{prefix}.1-ack.999", write_999(received, self._envelope(received, now)).encode()))
            adjudications: dict[str, list[ClaimAdjudication]] = {}
            payer_claim_numbers: dict[str, str] = {}
            for group in received.groups:
                for transaction in group.transactions:
                    if group.group_errors or not transaction.accepted or not transaction.claims:
                        continue
                    verdicts = []
                    for claim in transaction.claims:
                        rejections = front_end_rejections(claim, received_on)
                        payer_number = None if rejections else self._claim_number(received_on)
                        verdicts.append(ClaimVerdict(claim, rejections, payer_number))
                        if payer_number is not None:
                            payer_claim_numbers[claim.control_number] = payer_number
                            answer = self._adjudication(file_name, claim, payer_number, received_on)
                            if answer is not None:
                                adjudications.setdefault(claim.payer_id, []).append(answer)
                    text = write_277ca(transaction, verdicts, self._envelope(received, now), received_on)
                    answers.append(
                        Answer(f"{prefix}.2-{group.control_number}-{transaction.control_number}.277CA", text.encode())
                    )
            for payer_id, claims in adjudications.items():
                payees = list(dict.fromkeys(a.claim.billing_provider_npi for a in claims))
                envelope = self._envelope(received, now)
                traces = [f"SBXEFT{envelope.interchange_control_number:09d}{n:02d}" for n in range(1, len(payees) + 1)]
                text = write_835(claims, envelope, payer_claim_numbers, traces, received_on, self.payer)
                answers.append(Answer(f"{prefix}.3-{_safe(payer_id)}.835", text.encode()))
        return answers

    def _adjudication(
        self, file_name: str, claim: ReceivedClaim, payer_claim_number: str, received_on: date
    ) -> ClaimAdjudication | None:
        """What the 835 says about an accepted claim: its adjudication, or for a void the reversal of the
        claim it names (None when that claim is unknown or already reversed)."""
        if claim.frequency == "8":
            voided = claim.original_claim_number or ""
            original = self.paid_claims.take_for_reversal(voided) if voided else None
            return None if original is None else reversal_of(original, voided)
        adjudication = adjudicate(claim, received_on, self.rules)
        self.paid_claims.record(payer_claim_number, file_name, received_on, adjudication)
        return adjudication

    def answer_appeal(
        self, file_name: str, appeal: tuple[str, int] | None, received_dir: Path, now: datetime
    ) -> list[Answer]:
        """An 835 deciding the appealed claim (found in the 837s received), or nothing when it is unknown."""
        if appeal is None:
            return []
        claim_number, level = appeal
        for path in sorted(received_dir.glob("*"), reverse=True):
            try:
                interchanges = read_837(path.read_bytes())
            except UnreadableFileError:
                continue
            for received in interchanges:
                for group in received.groups:
                    for transaction in group.transactions:
                        for claim in transaction.claims:
                            if claim.control_number != claim_number:
                                continue
                            received_on = now.date()
                            original = adjudicate(claim, received_on, self.rules)
                            decision = answer_appeal(claim, original, level, received_on)
                            envelope = self._envelope(received, now)
                            numbers = {claim.control_number: self._claim_number(received_on)}
                            trace = f"SBXAPL{envelope.interchange_control_number:09d}01"
                            text = write_835([decision], envelope, numbers, [trace], received_on, self.payer)
                            return [Answer(f"{Path(file_name).stem}.3-appeal.835", text.encode())]
        log.warning("sandbox: appeal %s names a claim the sandbox never received", file_name)
        return []


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text) or "payer"


class FolderClearinghouse:
    """Runs a ``SandboxClearinghouse`` against a file-drop folder (``outbound/`` in, ``inbound/`` out)."""

    def __init__(self, folder: Path | str, rules: tuple[AdjudicationRule, ...] = DEFAULT_RULES) -> None:
        self.folder = Path(folder)
        self.outbound = self.folder / "outbound"
        self.inbound = self.folder / "inbound"
        self.private = self.folder / ".sandbox"
        self.state_file = self.private / "state.json"
        state = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        self.clearinghouse = SandboxClearinghouse(rules, **state, paid_claims=FolderPaidClaims(self.private, rules))

    def process_once(self, now: datetime | None = None) -> list[str]:
        """Answer every complete 837 waiting in ``outbound/``; returns the names of the files written."""
        for folder in (self.outbound, self.inbound, self.private / "received", self.private / "unreadable"):
            folder.mkdir(parents=True, exist_ok=True)
        written: list[str] = []
        for path in sorted(self.outbound.iterdir()):
            if not path.is_file() or path.name.startswith(".") or path.name.endswith(".part"):
                continue
            if path.suffix.lower() == ".pdf":  # an appeal letter: answered by sandbox.appeals, then filed
                moment = now or datetime.now().replace(microsecond=0)
                appeal = appeal_of(path.name)
                answers = self.clearinghouse.answer_appeal(path.name, appeal, self.private / "received", moment)
                for answer in answers:
                    _write_atomically(self.inbound / answer.file_name, answer.content)
                    written.append(answer.file_name)
                (self.private / "appeals").mkdir(parents=True, exist_ok=True)
                os.replace(path, self.private / "appeals" / path.name)
                _write_atomically(self.state_file, json.dumps(self.clearinghouse.state).encode())
                log.info("sandbox: appeal letter %s answered with %d files", path.name, len(answers))
                continue
            earlier = self.private / "received" / path.name
            if earlier.exists() and earlier.read_bytes() == path.read_bytes():
                # The submitter sent a file again after a crash between sending and recording it: a
                # clearinghouse takes a file once by name, so the claims are not adjudicated (and paid) twice.
                (self.private / "duplicates").mkdir(parents=True, exist_ok=True)
                os.replace(path, self.private / "duplicates" / path.name)
                log.info("sandbox: %s was received before; not answered again", path.name)
                continue
            moment = now or datetime.now().replace(microsecond=0)
            try:
                answers = self.clearinghouse.answer(path.name, path.read_bytes(), moment)
            except UnreadableFileError as exc:
                log.warning("sandbox: %s has no readable X12 envelope: %s", path.name, exc)
                (self.private / "unreadable" / f"{path.name}.txt").write_text(f"{exc}\n")
                os.replace(path, self.private / "unreadable" / path.name)
                continue
            for answer in answers:
                _write_atomically(self.inbound / answer.file_name, answer.content)
                written.append(answer.file_name)
            os.replace(path, self.private / "received" / path.name)
            _write_atomically(self.state_file, json.dumps(self.clearinghouse.state).encode())
            log.info("sandbox: answered %s with %d files", path.name, len(answers))
        return written

    def run(self, interval_s: float = 1.0) -> None:
        while True:
            self.process_once()
            time.sleep(interval_s)


def _write_atomically(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_bytes(content)
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.clearinghouse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", required=True, type=Path, help="the file-drop folder (outbound/ and inbound/)")
    parser.add_argument("--once", action="store_true", help="answer what is waiting, then exit")
    parser.add_argument("--rules", type=Path, help="JSON adjudication rules replacing the default table")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    rules = load_rules(args.rules) if args.rules else DEFAULT_RULES
    sandbox = FolderClearinghouse(args.folder, rules)
    if args.once:
        written = sandbox.process_once()
        print(f"wrote {len(written)} files into {sandbox.inbound}")
        return 0
    try:
        sandbox.run(args.interval)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
