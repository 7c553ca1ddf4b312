"""Time-ordered ids (UUID version 7, RFC 9562) for rows written by the thousand (encounters, claim payments, events).

A random (version 4) id lands anywhere in its indexes, so each insert touches a random leaf page of the primary
key (and of every index that carries the id: an encounter's id is also the claim's `encounter_id`), and once
those indexes outgrow the buffer cache every insert reads pages back: a cost that grows with the tables. A
version 7 id starts with the time in milliseconds, so new rows go to the right-hand edge of each index, as a
sequence's would, while staying unguessable and unique without coordination (74 random bits). A posting's
claim payments are the same case: the ledger's `claim_payment_id` and `source_key` start with the payment's id. So
are events (`EventEnvelope.new`): every consumer's inbox keys on the event id.
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_B = (1 << 62) - 1


def time_ordered_id() -> uuid.UUID:
    """A UUID version 7: 48 bits of Unix time in milliseconds, then version, 12 random bits, variant and 62 random
    bits. Ids made in a later millisecond sort after (as UUIDs and as their text)."""
    random = int.from_bytes(os.urandom(10), "big")
    milliseconds = time.time_ns() // 1_000_000
    return uuid.UUID(
        int=(milliseconds << 80) | _VERSION_7 | ((random >> 62) & 0xFFF) << 64 | _VARIANT | random & _RAND_B
    )
