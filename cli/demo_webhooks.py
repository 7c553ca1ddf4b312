"""The demo's webhook receiver: a small HTTP endpoint on 127.0.0.1 that a hospital system would run,
answering every signed delivery (Standard Webhooks v1) with 204 and counting what it received.

Only a notifications service in development accepts a loopback http:// target; elsewhere the demo
skips webhooks. The receiver reads just what a delivery needs (request line, headers, a body of
Content-Length bytes) and keeps nothing but counts: deliveries carry ids and amounts, never PHI.
"""

from __future__ import annotations

import asyncio
import contextlib

from standardwebhooks import Webhook

DEMO_SUBSCRIPTION = "claimflow demo receiver"
"""The description the demo's subscription carries, so a rerun finds and reuses it."""
DEMO_EVENT_TYPES = ("claim-denied.v1", "claim-corrected.v1", "appeal-filed.v1")
"""What the demo's hospital system wants pushed: the denials and how they are worked."""
MAX_BODY = 1_000_000


class WebhookReceiver:
    def __init__(self) -> None:
        self.received = 0
        self.verified = 0
        self.secret: str | None = None
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/claimflow-webhooks"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, host="127.0.0.1", port=0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await reader.readline()
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if not request_line.startswith(b"POST ") or not 0 <= length <= MAX_BODY:
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            body = await reader.readexactly(length)
            self.received += 1
            if self.signed(body, headers):
                self.verified += 1
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        except (ValueError, asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()

    def signed(self, body: bytes, headers: dict[str, str]) -> bool:
        """The delivery's `webhook-signature` checks out against the subscription's secret."""
        if self.secret is None:
            return False
        try:
            Webhook(self.secret).verify(body, headers)
        except Exception:  # standardwebhooks raises its own WebhookVerificationError or a decode error
            return False
        return True
