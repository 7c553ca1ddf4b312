"""Keyed member-id digests: equal ids digest equal (whatever their case, spaces or dashes), other ids, tenants or
keys do not, and a digest is no member id."""

from __future__ import annotations

from pydantic import SecretStr

from shared.patient_match import MemberDigest, normalized_member_id
from shared.settings import ServiceSettings

KEY = MemberDigest(b"unit-test patient-match key")


def test_case_spaces_and_dashes_do_not_make_another_member() -> None:
    assert normalized_member_id(" syn-0001 23 ") == "SYN000123"
    assert KEY.of("t1", "syn-000123") == KEY.of("t1", "SYN000123")


def test_another_member_tenant_or_key_gives_another_digest() -> None:
    digest = KEY.of("t1", "SYN000123")
    assert digest is not None and len(digest) == 32 and "SYN" not in digest
    assert digest != KEY.of("t1", "SYN000124")
    assert digest != KEY.of("t2", "SYN000123")
    assert digest != MemberDigest(b"another key").of("t1", "SYN000123")


def test_an_id_with_nothing_to_compare_has_no_digest() -> None:
    assert KEY.of("t1", " - ") is None
    assert KEY.of_all("t1", ["", "SYN1", "syn-1"]) == (KEY.of("t1", "SYN1"),)


def test_the_key_is_set_or_derived_from_the_auth_secret() -> None:
    secret = SecretStr("x" * 40)
    derived = MemberDigest.from_settings(ServiceSettings(auth_secret=secret))
    assert derived == MemberDigest.from_settings(ServiceSettings(auth_secret=secret))
    assert derived.key != secret.get_secret_value().encode()
    assert derived != MemberDigest.from_settings(ServiceSettings(auth_secret=SecretStr("y" * 40)))
    explicit = ServiceSettings(auth_secret=secret, patient_match_key=SecretStr("k" * 32))
    assert MemberDigest.from_settings(explicit).key == b"k" * 32
