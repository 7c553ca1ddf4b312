"""The ops console's FastAPI app: sign-in with a bearer token, then the pipeline, claims, denials and
one claim's timeline, rendered on the server with Jinja2 (plain forms, no script)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from cli.dead_letters import DeadLetter, read_dead_letters, replay
from console.kpis import KPIS, FeedMissing, FeedReader
from console.metrics import MetricsHistory
from console.services_api import ServicesApi, TimelineEntry, money, scrape_all, when
from console.settings import ConsoleSettings
from shared.auth import (
    CredentialVerifier,
    InvalidCredential,
    OidcSettings,
    Principal,
    TokenVerifier,
    credential_verifier,
)
from shared.messaging.kafka_access import access_from_env
from shared.messaging.topics import CORE_TOPICS

log = logging.getLogger("claimflow.console")
HERE = Path(__file__).parent
COOKIE = "claimflow_console"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["money"] = money
templates.env.filters["when"] = when
templates.env.filters["percent"] = lambda rate: "—" if rate is None else f"{float(rate) * 100:.1f}%"


class NotSignedIn(Exception):
    """No credential, or one that does not verify: the sign-in page answers, with 401."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def signed_in(request: Request) -> Principal:
    token = _token_of(request)
    if not token:
        raise NotSignedIn("sign in with a bearer token")
    verifier: CredentialVerifier = request.app.state.verifier
    try:
        principal = verifier.verify(token)
    except InvalidCredential:
        raise NotSignedIn("that token is not valid (expired, or not signed for claimflow)") from None
    request.state.token = token
    return principal


User = Annotated[Principal, Depends(signed_in)]


def _api(request: Request) -> ServicesApi:
    settings: ConsoleSettings = request.app.state.settings
    return ServicesApi(request.app.state.http, settings.service_urls(), request.state.token)


async def _sample_metrics(app: FastAPI) -> None:
    settings: ConsoleSettings = app.state.settings
    samples, down = await scrape_all(app.state.http, settings.service_urls())
    app.state.metrics.add(samples)
    app.state.metrics_down = down


async def _sample_forever(app: FastAPI, interval_s: float) -> None:
    while True:
        try:
            await _sample_metrics(app)
        except Exception:
            log.exception("metrics sample failed")
        await asyncio.sleep(interval_s)


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.http = httpx.AsyncClient(timeout=15)
        sampler = asyncio.create_task(_sample_forever(app, settings.metrics_interval_s))
        try:
            yield
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            await app.state.http.aclose()

    app = FastAPI(title="claimflow ops console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.verifier = credential_verifier(
        settings.environment,
        TokenVerifier(
            secret=settings.auth_secret.get_secret_value(), issuer=settings.auth_issuer, audience=settings.auth_audience
        ),
        OidcSettings(),
    )
    app.state.metrics = MetricsHistory()
    app.state.metrics_down = {}
    app.state.replayed = set()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(NotSignedIn)
    async def sign_in_page(request: Request, exc: NotSignedIn) -> Response:
        return templates.TemplateResponse(
            request, "login.html", {"reason": exc.reason}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> dict[str, bool]:
        return {"ready": True}

    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        return templates.TemplateResponse(request, "login.html", {"reason": None})

    @app.post("/login")
    async def login(request: Request, token: Annotated[str, Form(max_length=8000)]) -> Response:
        try:
            principal = request.app.state.verifier.verify(token.strip())
        except InvalidCredential:
            raise NotSignedIn("that token is not valid (expired, or not signed for claimflow)") from None
        response = RedirectResponse("/pipeline", status_code=303)
        response.set_cookie(
            COOKIE,
            token.strip(),
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookie,
            max_age=12 * 3600,
            path="/",
        )
        log.info("console sign-in", extra={"tenant": principal.tenant, "subject": principal.subject})
        return response

    @app.post("/logout")
    async def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/")
    async def home(user: User) -> Response:
        return RedirectResponse("/pipeline", status_code=303)

    @app.get("/pipeline", response_class=HTMLResponse)
    async def pipeline(request: Request, user: User, replayed: str | None = None) -> Response:
        await _sample_metrics(request.app)
        history: MetricsHistory = request.app.state.metrics
        latest = history.latest
        samples = latest.samples if latest is not None else ()
        published = latest.total("claimflow_events_published_total", "topic") if latest else {}
        processed = latest.total("claimflow_events_processed_total", "topic") if latest else {}
        rates = history.per_minute("claimflow_events_published_total", "topic")
        topics = [
            {"topic": topic.name, "published": published.get(topic.name, 0.0), "per_minute": rates.get(topic.name),
             "processed": processed.get(topic.name, 0.0)}
            for topic in CORE_TOPICS
        ]  # fmt: skip
        lag: dict[tuple[str, str, str], float] = {}
        for sample in samples:
            if sample.name == "claimflow_consumer_lag":
                key = (sample.label("service"), sample.label("group"), sample.label("topic"))
                lag[key] = lag.get(key, 0.0) + sample.value
        outbox = [
            {"service": s.label("service"), "backlog": s.value,
             "age": next((a.value for a in samples if a.name == "claimflow_outbox_oldest_age_seconds"
                          and a.label("service") == s.label("service")), 0.0)}
            for s in samples if s.name == "claimflow_outbox_backlog"
        ]  # fmt: skip
        dlt_counts = [
            {"service": s.label("service"), "topic": s.label("topic"), "count": s.value}
            for s in samples
            if s.name == "claimflow_dead_letters_total"
        ]
        letters, dlt_error = await _dead_letters(request, user.tenant)
        context = {
            "user": user, "page": "pipeline", "topics": topics, "minutes_sampled": len(history.scrapes),
            "lag": [{"service": k[0], "group": k[1], "topic": k[2], "lag": v} for k, v in sorted(lag.items())],
            "outbox": sorted(outbox, key=lambda row: str(row["service"])), "dlt_counts": dlt_counts,
            "letters": letters, "dlt_error": dlt_error, "replayed": replayed,
            "down": request.app.state.metrics_down, "replayed_set": request.app.state.replayed,
        }  # fmt: skip
        return templates.TemplateResponse(request, "pipeline.html", context)

    @app.post("/dead-letters/replay")
    async def replay_letter(
        request: Request,
        user: User,
        topic: Annotated[str, Form()],
        at: Annotated[str, Form(pattern=r"^\d+:\d+$")],
    ) -> Response:
        bootstrap = access_from_env(settings.kafka_bootstrap_servers) if settings.kafka_bootstrap_servers else None
        if bootstrap is None or topic not in {t.name for t in CORE_TOPICS}:
            return RedirectResponse("/pipeline", status_code=303)
        letters = [
            letter
            for letter in await read_dead_letters(bootstrap, topic)
            if f"{letter.partition}:{letter.offset}" == at and letter.header("ce_tenant") == user.tenant
        ]
        if letters:
            await replay(bootstrap, topic, letters)
            request.app.state.replayed.add((topic, at))
            log.info("dead letter replayed", extra={"topic": topic, "at": at, "tenant": user.tenant})
        return RedirectResponse(f"/pipeline?replayed={topic}+{at}" if letters else "/pipeline", status_code=303)

    @app.get("/claims", response_class=HTMLResponse)
    async def claims(request: Request, user: User) -> Response:
        api = _api(request)
        holds, rejections = await asyncio.gather(api.holds(), api.rejections())
        feed = _feed(settings, user.tenant)
        history: MetricsHistory = request.app.state.metrics
        if history.latest is None:
            await _sample_metrics(request.app)
        latest = history.latest
        all_tenants = latest.total("claimflow_claims_by_state", "state") if latest else {}
        context = {
            "user": user, "page": "claims", "holds": holds, "rejections": rejections, "feed": feed,
            "all_tenants": sorted(all_tenants.items()), "kpis": KPIS,
        }  # fmt: skip
        return templates.TemplateResponse(request, "claims.html", context)

    @app.get("/denials", response_class=HTMLResponse)
    async def denials(request: Request, user: User) -> Response:
        cases = await _api(request).denial_cases()
        by_carc: dict[str, int] = {}
        for case in cases:
            for carc in case.carcs:
                by_carc[carc] = by_carc.get(carc, 0) + 1
        context = {
            "user": user, "page": "denials", "cases": cases, "feed": _feed(settings, user.tenant),
            "denied_cents": sum(case.denied_cents for case in cases), "by_carc": sorted(by_carc.items()),
        }  # fmt: skip
        return templates.TemplateResponse(request, "denials.html", context)

    @app.get("/claim-numbers/{claim_control_number}")
    async def claim_by_number(request: Request, user: User, claim_control_number: str) -> Response:
        claim_id = await _api(request).claim_id_of(claim_control_number)
        if claim_id is None:
            return templates.TemplateResponse(
                request, "missing.html", {"user": user, "page": "", "what": claim_control_number}, status_code=404
            )
        return RedirectResponse(f"/claims/{claim_id}", status_code=303)

    @app.get("/claims/{claim_id}", response_class=HTMLResponse)
    async def claim_timeline(request: Request, user: User, claim_id: str) -> Response:
        api = _api(request)
        claim = await api.claim(claim_id)
        if claim is None:
            return templates.TemplateResponse(
                request, "missing.html", {"user": user, "page": "", "what": claim_id}, status_code=404
            )
        ledger, activity = await asyncio.gather(api.ledger(claim_id), api.activity(claim_id))
        events = []
        feed_note = None
        try:
            with FeedReader(settings.analytics_dir, user.tenant) as reader:
                events = reader.claim_events(claim_id, str(claim.get("encounter_id") or ""))
        except FeedMissing:
            feed_note = f"no analytics feed in {settings.analytics_dir}"
        timeline = _timeline(claim, ledger, activity)
        interchanges = sorted({str(e.payload["interchange_control_number"]) for e in events
                               if e.event_type == "claim-submitted.v1"})  # fmt: skip
        traces = sorted({str(e.payload["trace_number"]) for e in events if e.event_type == "payment-received.v1"})
        trace_ids = sorted({e.trace_id for e in events if e.trace_id})
        context = {
            "user": user, "page": "claims", "claim": claim, "ledger": ledger, "timeline": timeline,
            "events": events, "feed_note": feed_note, "interchanges": interchanges, "trns": traces,
            "trace_ids": trace_ids,
        }  # fmt: skip
        return templates.TemplateResponse(request, "claim.html", context)

    return app


FEED_CACHE_S = 15.0
_feed_cache: dict[tuple[str, str], tuple[float, int, dict[str, Any]]] = {}


def _feed(settings: ConsoleSettings, tenant: str) -> dict[str, Any]:
    """Every KPI view for the tenant, or the reason there are none; reused for a few seconds while no
    file was added (reading thousands of small files is the slow part)."""
    files = sum(1 for _ in settings.analytics_dir.glob("event_type=*/event_date=*/*.parquet"))
    key = (str(settings.analytics_dir), tenant)
    cached = _feed_cache.get(key)
    if cached is not None and cached[1] == files and time.monotonic() - cached[0] < FEED_CACHE_S:
        return cached[2]
    feed = _read_feed(settings, tenant)
    _feed_cache[key] = (time.monotonic(), files, feed)
    return feed


def _read_feed(settings: ConsoleSettings, tenant: str) -> dict[str, Any]:
    try:
        with FeedReader(settings.analytics_dir, tenant) as reader:
            return {
                "kpis": {kpi.view: reader.row(kpi.view) for kpi in KPIS},
                "states": reader.table("kpi_claims_by_state").as_dicts(),
                "aging": reader.table("kpi_ar_aging_by_payer").as_dicts(),
                "by_payer": reader.table("kpi_denial_rate_by_payer").as_dicts(),
                "by_carc": reader.table("kpi_denials_by_carc").as_dicts(),
                "by_provider": reader.table("kpi_denial_rate_by_provider").as_dicts(),
                "missing": None,
            }
    except FeedMissing:
        return {"missing": f"no analytics feed in {settings.analytics_dir}: run `claimflow analytics sink`"}


def _timeline(claim: dict[str, Any], ledger: dict[str, Any] | None, activity: list[dict[str, Any]]) -> list[Any]:
    entries = [
        TimelineEntry(str(change["at"]), f"state → {change['to_state']}", str(change.get("reason") or ""))
        for change in claim.get("status_history", [])
    ]
    for entry in (ledger or {}).get("entries", []):
        codes = " ".join(part for part in (entry.get("group_code"), entry.get("carc")) if part)
        detail = " ".join(
            part for part in (codes, f"ref {entry['reference']}" if entry.get("reference") else "") if part
        )
        entries.append(TimelineEntry(str(entry["posted_on"]), f"ledger {entry['kind']}", detail, entry["amount_cents"]))
    for event in activity:
        entries.append(TimelineEntry(str(event["occurred_at"]), f"event {event['event_type']}", str(event["event_id"])))
    return sorted(entries, key=lambda entry: entry.at)


async def _dead_letters(request: Request, tenant: str) -> tuple[list[dict[str, Any]], str | None]:
    settings: ConsoleSettings = request.app.state.settings
    if settings.kafka_bootstrap_servers is None:
        return [], "no Kafka configured (CLAIMFLOW_CONSOLE_KAFKA_BOOTSTRAP_SERVERS)"
    bootstrap = access_from_env(settings.kafka_bootstrap_servers)
    try:
        found = await asyncio.gather(*(read_dead_letters(bootstrap, topic.name) for topic in CORE_TOPICS))
    except Exception as exc:
        return [], f"dead-letter topics unreadable: {type(exc).__name__}"
    rows: list[dict[str, Any]] = []
    for topic, letters in zip(CORE_TOPICS, found, strict=True):
        rows.extend(_letter_row(topic.name, letter) for letter in letters if letter.header("ce_tenant") == tenant)
    return rows, None


def _letter_row(topic: str, letter: DeadLetter) -> dict[str, Any]:
    return {
        "topic": topic,
        "at": f"{letter.partition}:{letter.offset}",
        "event_type": letter.header("ce_type"),
        "event_id": letter.header("ce_id"),
        "group": letter.header("dlt-consumer-group"),
        "attempts": letter.header("dlt-attempts"),
        "error": letter.header("dlt-error"),
        "failed_at": letter.header("dlt-failed-at"),
    }


def app() -> FastAPI:
    """For `uvicorn --factory console.app:app`."""
    return create_app()
