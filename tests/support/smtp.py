"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it accepts, for tests."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.pipeline import free_port


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def notifications_env(self, link_secret: str, **extra: str) -> dict[str, str]:
        """The notifications service's environment for mailing through this server, its statement links signed
        with `link_secret`; `extra` adds to it."""
        return {
            "CLAIMFLOW_NOTIFICATIONS_SMTP_HOST": self.host,
            "CLAIMFLOW_NOTIFICATIONS_SMTP_PORT": str(self.port),
            "CLAIMFLOW_NOTIFICATIONS_STATEMENT_LINK_SECRET": link_secret,
            **extra,
        }


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[Mailbox]:
    mailbox = Mailbox("127.0.0.1", port or free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
