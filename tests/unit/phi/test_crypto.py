"""Envelope encryption of PHI values: sealing, the row binding, tampering, KEK parsing and rotation."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.phi.crypto import (
    DEVELOPMENT_KEK,
    Binding,
    KekRing,
    PhiIntegrityError,
    PhiKeyError,
    TenantKeys,
    key_version,
    new_key,
    version_prefix,
    wrap_context,
)
from shared.phi.keys import PhiSettings

ROW = Binding("tenant-a", "patients", "phi", "7d8f0a36-0000-4000-8000-000000000001")


def keys(active: int = 1, versions: tuple[int, ...] = (1,), index_key: bytes = b"i" * 32) -> TenantKeys:
    ciphers = {version: AESGCM(bytes([version]) * 32) for version in versions}
    return TenantKeys(tenant="tenant-a", active=active, ciphers=ciphers, index_key=index_key)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


class TestSealing:
    def test_a_sealed_value_opens_to_its_plaintext_and_does_not_contain_it(self) -> None:
        sealed = keys().seal_json({"last_name": "SYNTHETIC", "birth_date": "1970-01-01"}, ROW)
        assert b"SYNTHETIC" not in sealed and b"1970" not in sealed
        assert keys().open_json(sealed, ROW) == {"last_name": "SYNTHETIC", "birth_date": "1970-01-01"}

    def test_the_same_value_seals_differently_each_time(self) -> None:
        assert keys().seal(b"same", ROW) != keys().seal(b"same", ROW)

    @pytest.mark.parametrize(
        "moved",
        [
            Binding("tenant-b", ROW.table, ROW.column, ROW.row_id),
            Binding(ROW.tenant, "coverages", ROW.column, ROW.row_id),
            Binding(ROW.tenant, ROW.table, "record", ROW.row_id),
            Binding(ROW.tenant, ROW.table, ROW.column, "7d8f0a36-0000-4000-8000-000000000002"),
        ],
        ids=["tenant", "table", "column", "row"],
    )
    def test_a_value_moved_to_another_place_does_not_open(self, moved: Binding) -> None:
        sealed = keys().seal(b"member 123", ROW)
        with pytest.raises(PhiIntegrityError):
            keys().open(sealed, moved)

    def test_a_flipped_bit_does_not_open(self) -> None:
        sealed = bytearray(keys().seal(b"member 123", ROW))
        sealed[-1] ^= 1
        with pytest.raises(PhiIntegrityError):
            keys().open(bytes(sealed), ROW)

    def test_not_a_sealed_value(self) -> None:
        with pytest.raises(PhiIntegrityError):
            keys().open(b"plaintext", ROW)

    def test_the_version_travels_with_the_value(self) -> None:
        sealed = keys(active=7, versions=(7,)).seal(b"x", ROW)
        assert key_version(sealed) == 7
        assert sealed.startswith(version_prefix(7))

    def test_old_versions_open_while_kept_and_new_values_use_the_active_one(self) -> None:
        old = keys(active=1, versions=(1,)).seal(b"before rotation", ROW)
        rotated = keys(active=2, versions=(1, 2))
        assert rotated.open(old, ROW) == b"before rotation"
        assert key_version(rotated.seal(b"after", ROW)) == 2
        with pytest.raises(PhiKeyError, match="version 1"):
            keys(active=2, versions=(2,)).open(old, ROW)


class TestBlindIndex:
    def test_equal_values_index_equal_and_columns_apart(self) -> None:
        assert keys().blind_index("member_id_bidx", "M1") == keys().blind_index("member_id_bidx", "M1")
        assert keys().blind_index("member_id_bidx", "M1") != keys().blind_index("member_id_bidx", "M2")
        assert keys().blind_index("member_id_bidx", "M1") != keys().blind_index("last_name_bidx", "M1")

    def test_another_tenant_key_indexes_differently(self) -> None:
        assert keys().blind_index("c", "M1") != keys(index_key=b"j" * 32).blind_index("c", "M1")


class TestKekRing:
    def test_parse_several_with_the_active_named(self) -> None:
        ring = KekRing.parse(f"k1:{b64(b'1' * 32)}, k2:{b64(b'2' * 32)}", "k2")
        assert ring.active == "k2" and set(ring.keys) == {"k1", "k2"}

    def test_the_first_is_active_by_default(self) -> None:
        assert KekRing.parse(f"k1:{b64(b'1' * 32)},k2:{b64(b'2' * 32)}").active == "k1"

    @pytest.mark.parametrize("text", ["", "k1", f"k1:{b64(b'1' * 16)}", "k1:not base64!", f":{b64(b'1' * 32)}"])
    def test_refuses_malformed_keys(self, text: str) -> None:
        with pytest.raises(PhiKeyError):
            KekRing.parse(text)

    def test_refuses_an_active_id_not_listed(self) -> None:
        with pytest.raises(PhiKeyError, match="k9"):
            KekRing.parse(f"k1:{b64(b'1' * 32)}", "k9")

    def test_a_wrapped_key_opens_under_any_listed_kek_id_and_only_in_its_context(self) -> None:
        old = KekRing.parse(f"k1:{b64(b'1' * 32)}")
        data_key = new_key()
        kid, wrapped = old.wrap(data_key, wrap_context("intake", "t", "data", 1))
        rotated = KekRing.parse(f"k2:{b64(b'2' * 32)},k1:{b64(b'1' * 32)}")
        assert rotated.unwrap(kid, wrapped, wrap_context("intake", "t", "data", 1)) == data_key
        with pytest.raises(PhiIntegrityError):
            rotated.unwrap(kid, wrapped, wrap_context("intake", "other-tenant", "data", 1))
        with pytest.raises(PhiKeyError, match="k1"):
            KekRing.parse(f"k2:{b64(b'2' * 32)}").unwrap(kid, wrapped, wrap_context("intake", "t", "data", 1))


class TestSettings:
    def test_development_has_a_built_in_key(self) -> None:
        assert PhiSettings(environment="development", phi_keks=None, phi_kek=None).kek_ring().is_development

    @pytest.mark.parametrize("environment", ["test", "production"])
    def test_other_environments_need_a_key(self, environment: str) -> None:
        with pytest.raises(PhiKeyError, match="CLAIMFLOW_PHI_KEKS"):
            PhiSettings(environment=environment, phi_keks=None, phi_kek=None).kek_ring()

    def test_the_published_development_key_is_refused_outside_development(self) -> None:
        with pytest.raises(PhiKeyError, match="published"):
            PhiSettings(environment="production", phi_kek=b64(DEVELOPMENT_KEK)).kek_ring()

    def test_one_key_or_several(self) -> None:
        assert PhiSettings(environment="production", phi_kek=b64(b"3" * 32), phi_keks=None).kek_ring().active == (
            "default"
        )
        ring = PhiSettings(
            environment="production", phi_keks=f"a:{b64(b'1' * 32)},b:{b64(b'2' * 32)}", phi_active_kek="b"
        ).kek_ring()
        assert ring.active == "b"
