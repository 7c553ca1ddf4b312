"""`claimflow demo`: a synthetic practice's month pushed through the running system over HTTP.

Intake registers the practice's payers, providers, patients and coverages and takes the encounters
in batches; the claims service builds, scrubs and sends the claims; the sandbox payer answers with
999/277CA and 835s; remittance posts them; claims move to paid, partially paid or denied, and
secondary claims go to the secondary payer. The demo then reads every claim and its ledger back from
the services' APIs and adds them up (`cli.demo_summary`). Payments that reached remittance before
the claim did wait in suspense: the demo matches them to their claim, as billing staff would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.demo_denials import ALL_STATUSES, DemoDenialCase, correction_encounter_id, denial_totals, next_action
from cli.demo_practice import DemoPractice, build_practice
from cli.demo_summary import SETTLED_STATES, ClaimOutcome, DemoSummary, LedgerTotals, summarize
from cli.demo_webhooks import DEMO_EVENT_TYPES, DEMO_SUBSCRIPTION, WebhookReceiver
from cli.endpoints import ServiceUrls, load_service_urls

BATCH_SIZE = 500
DEFAULT_ENCOUNTERS = 2000
T = TypeVar("T")


class DemoError(RuntimeError):
    pass


@dataclass
class DemoProgress:
    """Rich progress bars on stderr (stdout stays for `--json`); silent when `progress` is None."""

    progress: Progress | None

    def task(self, description: str, total: int) -> TaskID | None:
        return self.progress.add_task(description, total=total) if self.progress is not None else None

    def update(self, task: TaskID | None, completed: int) -> None:
        if self.progress is not None and task is not None:
            self.progress.update(task, completed=completed)


class DemoRun:
    """One demo against running services, all over their HTTP APIs."""

    def __init__(self, client: httpx.AsyncClient, urls: ServiceUrls, *, concurrency: int = 16) -> None:
        self.client, self.urls = client, urls
        self._limit = asyncio.Semaphore(concurrency)

    async def _bounded(self, work: Awaitable[T]) -> T:
        async with self._limit:
            return await work

    async def _gather(self, works: Iterable[Awaitable[T]]) -> list[T]:
        return list(await asyncio.gather(*(self._bounded(work) for work in works)))

    async def _post(self, url: str, body: dict[str, Any], *, key: str | None = None) -> dict[str, Any]:
        return (await self._post_replayed(url, body, key=key))[0]

    async def _post_replayed(
        self, url: str, body: dict[str, Any], *, key: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """The answer, and whether intake replayed it for a repeated Idempotency-Key (nothing done again)."""
        headers = {"Idempotency-Key": key} if key else {}
        response = await self.client.post(url, json=body, headers=headers)
        if response.status_code not in (200, 201):
            raise DemoError(f"POST {url} answered {response.status_code}: {response.text[:500]}")
        return dict(response.json()), response.headers.get("Idempotent-Replayed") == "true"

    async def register(self, practice: DemoPractice, progress: DemoProgress) -> list[str]:
        """Payers, providers, patients and their coverages; each registration is idempotent by its external id.
        The patients' ids."""
        intake = self.urls.intake
        for payer in practice.payers:
            await self._post(f"{intake}/v1/payers", payer)
        for provider in practice.providers:
            await self._post(f"{intake}/v1/providers", provider)
        task = progress.task("registering patients", len(practice.patients))
        done = 0

        async def one(patient: Any) -> str:
            nonlocal done
            created = await self._post(f"{intake}/v1/patients", patient.document)
            for coverage in patient.coverages:
                await self._post(f"{intake}/v1/patients/{created['id']}/coverages", coverage)
            done += 1
            progress.update(task, done)
            return str(created["id"])

        return await self._gather(one(patient) for patient in practice.patients)

    async def send_encounters(self, practice: DemoPractice, progress: DemoProgress) -> tuple[list[str], int]:
        """Every encounter, in batches under an Idempotency-Key derived from the batch's content."""
        task = progress.task("sending encounters", len(practice.encounters))
        ids: list[str] = []
        created = 0
        for start in range(0, len(practice.encounters), BATCH_SIZE):
            batch = {"encounters": list(practice.encounters[start : start + BATCH_SIZE])}
            key = "demo-" + hashlib.sha256(json.dumps(batch, sort_keys=True).encode()).hexdigest()[:40]
            answer, replayed = await self._post_replayed(f"{self.urls.intake}/v1/encounters:batch", batch, key=key)
            ids.extend(str(result["id"]) for result in answer["results"])
            created += 0 if replayed else int(answer["created"])
            progress.update(task, len(ids))
        return ids, created

    async def claims_of(self, encounter_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"{self.urls.claims}/v1/claims", params={"encounter_id": encounter_id})
        response.raise_for_status()
        return list(response.json()["items"])

    async def wait_settled(
        self, encounter_ids: list[str], progress: DemoProgress, timeout_s: float
    ) -> tuple[dict[str, dict[str, Any]], int]:
        """Poll each encounter's claims until every one rests in a settled state (or the timeout passes);
        meanwhile match suspended payments to the demo's claims. The claims by id, and payments matched."""
        task = progress.task("claims adjudicated", len(encounter_ids))
        claims: dict[str, dict[str, Any]] = {}
        pending = list(encounter_ids)
        matched = 0
        deadline = time.monotonic() + timeout_s
        next_suspense_look = time.monotonic() + 5
        verified = False
        while (pending or not verified) and time.monotonic() < deadline:
            if not pending:
                # Everything looked settled: one more pass over every encounter picks up claims built
                # meanwhile (a secondary after its primary's payment), and only a quiet pass ends the wait.
                pending, verified = list(encounter_ids), True
            found = await self._gather(self.claims_of(encounter_id) for encounter_id in pending)
            still: list[str] = []
            for encounter_id, rows in zip(pending, found, strict=True):
                for row in rows:
                    verified = verified and (str(row["id"]) in claims or row["state"] in SETTLED_STATES)
                    claims[str(row["id"])] = row
                if not rows or any(row["state"] not in SETTLED_STATES for row in rows):
                    still.append(encounter_id)
            pending = still
            verified = verified and not pending
            progress.update(task, len(encounter_ids) - len(pending))
            if pending and time.monotonic() >= next_suspense_look:
                matched += await self.work_suspense(claims.values())
                next_suspense_look = time.monotonic() + 5
            if pending:
                await asyncio.sleep(1.0)
        return claims, matched

    async def work_suspense(self, claims: Iterable[dict[str, Any]]) -> int:
        """Match payments remittance could not place (the 835 came before the claim-submitted event) to
        the demo's claims by CLP01 = CLM01."""
        ours = {str(c["claim_control_number"]) for c in claims if c.get("claim_control_number")}
        response = await self.client.get(f"{self.urls.remittance}/v1/suspense")
        response.raise_for_status()
        matched = 0
        for payment in response.json():
            number = str(payment["claim_control_number"])
            if number not in ours:
                continue
            answer = await self.client.post(
                f"{self.urls.remittance}/v1/suspense/{payment['id']}/match", json={"claim_control_number": number}
            )
            if answer.status_code == 200:
                matched += 1
        return matched

    async def denial_cases(self, claim_ids: set[str]) -> list[DemoDenialCase]:
        """Every denial case (any status) of the demo's claims, page by page."""
        cases: list[DemoDenialCase] = []
        offset, page = 0, 500
        while True:
            params = httpx.QueryParams({"status": list(ALL_STATUSES), "limit": page, "offset": offset})
            response = await self.client.get(f"{self.urls.denials}/v1/denial-cases", params=params)
            response.raise_for_status()
            rows = response.json()
            cases.extend(case for case in map(DemoDenialCase.from_api, rows) if case.claim_id in claim_ids)
            if len(rows) < page:
                return cases
            offset += page

    async def work_denials(
        self, claim_ids: set[str], seed: int, progress: DemoProgress, timeout_s: float
    ) -> tuple[list[DemoDenialCase], int]:
        """Act on every case on the work queue (`cli.demo_denials.next_action`), then follow the payer's
        answers (an upheld appeal goes to the next level) until no case awaits the payer or the timeout
        passes. The cases as they ended, and how many actions were created (not replayed)."""
        deadline = time.monotonic() + timeout_s
        cases = await self.denial_cases(claim_ids)
        task = progress.task("denial cases worked", len(cases))
        created = 0
        while True:
            actions = [action for action in (next_action(case, seed) for case in cases) if action is not None]
            answers = await self._gather(
                self.client.post(
                    f"{self.urls.denials}/v1/denial-cases/{action.case_id}/actions",
                    json=action.body(),
                    headers={"Idempotency-Key": action.idempotency_key},
                )
                for action in actions
            )
            for action, answer in zip(actions, answers, strict=True):
                if answer.status_code not in (200, 201, 409):  # 409: the case moved on meanwhile
                    raise DemoError(f"{action.kind} on denial case answered {answer.status_code}: {answer.text[:300]}")
                created += answer.status_code == 201
            awaiting = sum(1 for case in cases if case.status == "pending_payer")
            progress.update(task, len(cases) - awaiting - len(actions))
            if (not actions and not awaiting) or time.monotonic() >= deadline:
                return cases, created
            await asyncio.sleep(1.0)
            cases = await self.denial_cases(claim_ids)

    async def correction_encounters(self, cases: list[DemoDenialCase], claims: dict[str, dict[str, Any]]) -> list[str]:
        """The encounter ids of the corrected claims built for the cases (one per corrected-claim action)."""

        async def of_case(case: DemoDenialCase) -> list[str]:
            original = claims.get(case.claim_id or "")
            if original is None or case.corrected_claim_control_number is None:
                return []
            response = await self.client.get(f"{self.urls.denials}/v1/denial-cases/{case.id}")
            response.raise_for_status()
            return [
                correction_encounter_id(str(original["encounter_id"]), str(action["id"]))
                for action in response.json()["actions"]
                if action["kind"] == "corrected_claim"
            ]

        return [encounter for found in await self._gather(map(of_case, cases)) for encounter in found]

    async def statement_cycle(self, patient_ids: list[str], as_of: dt.date) -> tuple[int, int]:
        """Run the statement cycle as of the demo's end date; the demo's patients' statements of that date
        (a second run in the cycle makes none, so a rerun reports the same): their count and balance."""
        await self._post(f"{self.urls.notifications}/v1/statement-runs", {"as_of": as_of.isoformat()})

        async def of_patient(patient_id: str) -> list[dict[str, Any]]:
            response = await self.client.get(
                f"{self.urls.notifications}/v1/statements", params={"patient_id": patient_id}
            )
            response.raise_for_status()
            return [s for s in response.json() if s["statement_date"] == as_of.isoformat()]

        statements = [s for rows in await self._gather(map(of_patient, patient_ids)) for s in rows]
        return len(statements), sum(int(s["balance_cents"]) for s in statements)

    async def subscribe(self, receiver: WebhookReceiver) -> str | None:
        """The demo's webhook subscription pointed at `receiver` (a rerun reuses it); None when the
        notifications service refuses a loopback target (it runs outside development) or the token has no
        webhooks scope."""
        base = f"{self.urls.notifications}/v1/webhook-subscriptions"
        listed = await self.client.get(base)
        if listed.status_code == 403:  # a token without webhooks scopes: no webhooks in this demo
            return None
        listed.raise_for_status()
        mine = [row for row in listed.json() if row["description"] == DEMO_SUBSCRIPTION]
        if mine:
            subscription_id = str(mine[0]["id"])
            answer = await self.client.patch(f"{base}/{subscription_id}", json={"url": receiver.url})
        else:
            body = {"url": receiver.url, "event_types": list(DEMO_EVENT_TYPES), "description": DEMO_SUBSCRIPTION}
            answer = await self.client.post(base, json=body)
        if answer.status_code == 422:
            return None
        answer.raise_for_status()
        subscription_id = str(answer.json()["id"])
        if mine:
            if not mine[0]["enabled"]:
                (await self.client.post(f"{base}/{subscription_id}/enable")).raise_for_status()
            secret = await self.client.get(f"{base}/{subscription_id}/secret")
            secret.raise_for_status()
            receiver.secret = str(secret.json()["secret"])
        else:
            receiver.secret = str(answer.json()["secret"])
        return subscription_id

    async def webhook_deliveries(self, subscription_id: str, timeout_s: float) -> int:
        """Wait (up to `timeout_s`) until no delivery to the demo's receiver is pending; those delivered."""
        url = f"{self.urls.notifications}/v1/webhook-deliveries"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pending = await self.client.get(url, params={"subscription_id": subscription_id, "status": "pending"})
            pending.raise_for_status()
            if not pending.json():
                break
            await asyncio.sleep(0.5)
        delivered, before = 0, None
        while True:
            params: dict[str, str | int] = {"subscription_id": subscription_id, "status": "delivered", "limit": 500}
            if before is not None:
                params["before"] = before
            page = await self.client.get(url, params=params)
            page.raise_for_status()
            rows = page.json()
            delivered += len(rows)
            if len(rows) < 500:
                return delivered
            before = str(rows[-1]["created_at"])

    async def outcome(self, claim: dict[str, Any]) -> ClaimOutcome:
        detail_response = await self.client.get(f"{self.urls.claims}/v1/claims/{claim['id']}")
        detail_response.raise_for_status()
        detail = detail_response.json()
        ledger_response = await self.client.get(f"{self.urls.remittance}/v1/claims/{claim['id']}/ledger")
        ledger: LedgerTotals | None = None
        if ledger_response.status_code == 200:
            body = ledger_response.json()
            ledger = LedgerTotals(
                charge_cents=int(body["charge_cents"]),
                paid_cents=int(body["paid_cents"]),
                adjustment_cents=int(body["adjustment_cents"]),
                patient_responsibility_cents=int(body["patient_responsibility_cents"]),
                open_cents=int(body["open_cents"]),
            )
        elif ledger_response.status_code != 404:
            ledger_response.raise_for_status()
        return ClaimOutcome(
            claim_id=str(detail["id"]),
            state=str(detail["state"]),
            total_charge_cents=int(detail["total_charge_cents"]),
            states_seen=frozenset(str(change["to_state"]) for change in detail["status_history"]),
            is_secondary=detail.get("primary_claim_id") is not None,
            ledger=ledger,
        )


async def run_demo(
    urls: ServiceUrls,
    token: str,
    *,
    encounters: int = DEFAULT_ENCOUNTERS,
    seed: int = 1,
    end_date: dt.date | None = None,
    timeout_s: float = 900.0,
    progress: Progress | None = None,
    work_denials: bool = True,
) -> DemoSummary:
    """Run the demo and read the result back from the services; `work_denials=False` leaves the denial
    cases on the work queue (for billing staff, or the console's denials page)."""
    last_day = end_date or dt.date.today() - dt.timedelta(days=1)
    practice = build_practice(seed, encounters, last_day)
    bars = DemoProgress(progress)
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
    receiver = WebhookReceiver()
    await receiver.start()
    try:
        async with httpx.AsyncClient(headers=headers, timeout=60) as client:
            run = DemoRun(client, urls)
            return await _run_month(run, practice, receiver, bars, started, timeout_s, last_day, seed, work_denials)
    finally:
        await receiver.stop()


async def _run_month(
    run: DemoRun,
    practice: DemoPractice,
    receiver: WebhookReceiver,
    bars: DemoProgress,
    started: float,
    timeout_s: float,
    last_day: dt.date,
    seed: int,
    work_denials: bool,
) -> DemoSummary:
    """The month in order: webhook subscription, registrations, encounters, adjudication, denials worked,
    replacement claims settled, the statement cycle, every claim read back, the webhooks counted."""
    subscription_id = await run.subscribe(receiver)
    patient_ids = await run.register(practice, bars)
    encounter_ids, created = await run.send_encounters(practice, bars)
    claims, matched = await run.wait_settled(encounter_ids, bars, timeout_s)
    deadline = started + timeout_s
    if work_denials:
        cases, actions = await run.work_denials(set(claims), seed, bars, max(deadline - time.monotonic(), 0.0))
    else:
        cases, actions = await run.denial_cases(set(claims)), 0
    corrections = await run.correction_encounters(cases, claims)
    if corrections:
        # The replacement claims, and their originals' encounters, where a replacement's secondary is
        # built (the secondary takes the encounter id of the document it is built from): settled, and
        # read with the rest.
        originals = {str(claims[c.claim_id]["encounter_id"]) for c in cases if c.claim_id in claims}
        left = max(deadline - time.monotonic(), 0.0)
        corrected, more = await run.wait_settled([*corrections, *sorted(originals)], bars, left)
        claims.update(corrected)
        matched += more
    statements, statement_balance = await run.statement_cycle(patient_ids, last_day)
    task = bars.task("reading claims and ledgers", len(claims))
    outcomes: list[ClaimOutcome] = []

    async def read(claim: dict[str, Any]) -> None:
        outcomes.append(await run.outcome(claim))
        bars.update(task, len(outcomes))

    await run._gather(read(claim) for claim in claims.values())
    delivered = None
    if subscription_id is not None:
        delivered = await run.webhook_deliveries(subscription_id, min(max(deadline - time.monotonic(), 0.0), 60.0))
    summary = summarize(
        outcomes,
        encounters=len(encounter_ids),
        encounters_created=created,
        suspense_matched=matched,
        elapsed_s=time.monotonic() - started,
        seed=seed,
    )
    return dataclasses.replace(
        summary,
        denials=denial_totals(cases),
        corrected_claims=len(corrections),
        denial_actions=actions,
        statements=statements,
        statement_balance_cents=statement_balance,
        webhook_deliveries=delivered,
        webhooks_verified=receiver.verified,
    )


def summary_table(summary: DemoSummary) -> Table:
    table = Table(title=f"claimflow demo (seed {summary.seed})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in summary.as_json().items():
        if name.endswith("_cents") and isinstance(value, int):
            shown = f"${value / 100:,.2f}"  # display only; every figure is kept in integer cents
        else:
            shown = str(value)
        table.add_row(name, shown)
    return table


def _local_token() -> str:
    from cli.pipeline import dev_token
    from cli.services import ServiceSecrets
    from cli.stack.local_stack import LocalStack

    secrets_file = LocalStack().paths.stack_dir / "service-secrets.json"
    if not secrets_file.exists():
        raise typer.BadParameter("no local secrets: start the system with `claimflow up` or pass --token")
    return dev_token(ServiceSecrets.load_or_create(secrets_file).auth_secret)


def run_and_report(
    urls: ServiceUrls,
    token: str,
    *,
    encounters: int,
    seed: int,
    as_json: bool,
    end_date: dt.date | None = None,
    timeout_s: float = 900.0,
    work_denials: bool = True,
    echo: Callable[[str], None] = print,
) -> DemoSummary:
    """The demo with progress bars on stderr, then the summary table (stderr) or one JSON object (stdout)."""
    err = Console(stderr=True)
    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=as_json) as progress:
        summary = asyncio.run(
            run_demo(
                urls,
                token,
                encounters=encounters,
                seed=seed,
                end_date=end_date,
                timeout_s=timeout_s,
                progress=progress,
                work_denials=work_denials,
            )
        )
    if as_json:
        echo(json.dumps(summary.as_json()))
    else:
        err.print(summary_table(summary))
    return summary


def demo(
    encounters: Annotated[int, typer.Option(min=1, max=100_000, help="Encounters in the month.")] = DEFAULT_ENCOUNTERS,
    seed: Annotated[int, typer.Option(help="Same seed, same practice and encounters: a rerun creates nothing.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    end_date: Annotated[
        str | None, typer.Option(help="Last service date, YYYY-MM-DD (default yesterday); the month ends here.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the claims to settle.")] = 900.0,
    work_denials: Annotated[
        bool, typer.Option(help="Work the denial cases (corrected claims, appeals, write-offs) to their end.")
    ] = True,
    intake: Annotated[str | None, typer.Option(help="Intake URL (default: from `claimflow up`).")] = None,
    claims: Annotated[str | None, typer.Option(help="Claims URL.")] = None,
    remittance: Annotated[str | None, typer.Option(help="Remittance URL.")] = None,
    denials: Annotated[str | None, typer.Option(help="Denials URL.")] = None,
    notifications: Annotated[str | None, typer.Option(help="Notifications URL.")] = None,
    token: Annotated[str | None, typer.Option(help="Bearer token (default: a development token).")] = None,
) -> None:
    """Push a synthetic practice's month through the running system and add up what came back."""
    recorded = load_service_urls()
    given = {"intake": intake, "claims": claims, "remittance": remittance, "denials": denials,
             "notifications": notifications}  # fmt: skip
    if any(value is None for value in given.values()) and recorded is None:
        raise typer.BadParameter("no running system recorded: start `claimflow up` or pass every service URL")
    base = recorded.as_dict() if recorded is not None else {}
    urls = ServiceUrls.from_dict({name: value or base[name] for name, value in given.items()})
    summary = run_and_report(
        urls,
        token or _local_token(),
        encounters=encounters,
        seed=seed,
        as_json=as_json,
        end_date=dt.date.fromisoformat(end_date) if end_date else None,
        timeout_s=timeout,
        work_denials=work_denials,
        echo=typer.echo,
    )
    if not summary.ledger_balanced:
        raise typer.Exit(1)
