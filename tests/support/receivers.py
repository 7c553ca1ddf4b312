"""Real local receivers for notifications' outbound traffic: an HTTP endpoint that verifies Standard Webhooks
signatures with the standard's own library (and can be taken down or made to fail), and an SMTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.support.pipeline import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int


@dataclass
class WebhookReceiver:
    """POSTs to any path are recorded and answered by `answer(request_number)` (default 204); each is verified
    with `secret` when set. GET /metrics answers `metrics_text` (a service's /metrics stand-in for alerts)."""

    secret: str | None = None
    answer: Callable[[int], int] = lambda _: 204
    metrics_text: str = ""
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            headers = {name.lower(): value for name, value in request.headers.items()}
            verified = False
            if self.secret is not None:
                try:
                    Webhook(self.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
            code = self.answer(len(self.received))
            self.received.append(Received(request.url.path, headers, body, verified, code))
            return Response(status_code=code)

        async def metrics(_: Request) -> Response:
            return PlainTextResponse(self.metrics_text)

        return Starlette(
            routes=[Route("/metrics", metrics, methods=["GET"]), Route("/{path:path}", hook, methods=["POST"])]
        )

    async def start(self) -> None:
        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Down: connections are refused until `start` again (same port)."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None

    def delivered(self, path: str = "/hook") -> list[Received]:
        return [r for r in self.received if r.path == path and 200 <= r.answered < 300]


class _Collect:
    def __init__(self, messages: list[Message]) -> None:
        self._messages = messages

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self._messages.append(BytesParser().parsebytes(content))
        return "250 OK"


@dataclass
class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 keeping every message."""

    port: int = field(default_factory=free_port)
    messages: list[Message] = field(default_factory=list)
    _controller: Any = None

    def start(self) -> None:
        self._controller = Controller(_Collect(self.messages), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.messages]
