"""HTTP shapes of the notifications API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class ActivityOut(BaseModel):
    event_id: str
    event_type: str
    subject: str
    occurred_at: dt.datetime
