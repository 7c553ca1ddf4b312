"""Whether a payment names the claim's patient, without the remittance service holding member ids.

The claims service puts a keyed digest (HMAC-SHA256, bound to the tenant) of the subscriber's member id on
`claim-submitted`; the remittance service digests the member ids an 835 claim payment carries (NM1*QC, NM1*IL,
NM1*74) with the same key. Equal digests mean the same member id; neither service can turn a digest back into
the id, and without the key nobody can test guesses against one (member ids are short enough to guess).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.settings import ServiceSettings

DIGEST_BYTES = 16
_DERIVATION_INFO = b"claimflow patient-match v1"


def normalized_member_id(member_id: str) -> str:
    """Payers echo member ids with other case, spaces or dashes: those do not make another member."""
    return "".join(filter(str.isalnum, member_id.upper()))


@lru_cache(maxsize=4)
def _derived_key(auth_secret: str) -> bytes:
    """Derived once per secret, not once per uploaded file."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVATION_INFO).derive(auth_secret.encode())


@dataclass(frozen=True, slots=True)
class MemberDigest:
    key: bytes

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> MemberDigest:
        """`CLAIMFLOW_PATIENT_MATCH_KEY` when set, else a key derived (HKDF) from `CLAIMFLOW_AUTH_SECRET`:
        every service of a deployment shares it, and it never leaves the deployment."""
        if settings.patient_match_key is not None:
            return cls(settings.patient_match_key.get_secret_value().encode())
        return cls(_derived_key(settings.auth_secret.get_secret_value()))

    def of(self, tenant: str, member_id: str) -> str | None:
        """The digest of a member id for a tenant; None for an id with nothing to compare."""
        normalized = normalized_member_id(member_id)
        if not normalized:
            return None
        message = f"{tenant}\x1f{normalized}".encode()
        return hmac.digest(self.key, message, "sha256")[:DIGEST_BYTES].hex()  # one-shot: no HMAC object per id

    def of_all(self, tenant: str, member_ids: Iterable[str]) -> tuple[str, ...]:
        digests = (self.of(tenant, member_id) for member_id in member_ids)
        return tuple(dict.fromkeys(digest for digest in digests if digest is not None))
