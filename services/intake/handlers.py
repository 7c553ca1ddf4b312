"""Intake consumes no topic: it is where encounters enter the pipeline."""

from __future__ import annotations

from shared.messaging.consumer import Subscription

SUBSCRIPTIONS: list[Subscription] = []
