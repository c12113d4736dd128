"""API key format and the authenticator, over an in-memory tenant directory (no AWS)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.adapters.tenants_table import ApiKeyRecord, TenantRecord
from dialer.domain.tenants import AuthMethod, TenantStatus, generate_api_key, hash_secret, parse_api_key
from dialer.errors import Unauthorized
from dialer.services.auth import Authenticator


@dataclass
class FakeDirectory:
    tenants: dict[str, TenantRecord] = field(default_factory=dict)
    keys: dict[str, ApiKeyRecord] = field(default_factory=dict)
    touches: list[tuple[str, str, str]] = field(default_factory=list)

    def get_tenant(self, tenant_id: str) -> TenantRecord | None:
        return self.tenants.get(tenant_id)

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        return self.keys.get(key_id)

    def touch_api_key(self, key_id: str, now: str, not_since: str) -> None:
        self.touches.append((key_id, now, not_since))


def _setup() -> tuple[FakeDirectory, str, str]:
    directory = FakeDirectory()
    directory.tenants["acme"] = TenantRecord("acme", "Acme", TenantStatus.ACTIVE, "2026-01-01")
    new = generate_api_key()
    directory.keys[new.key_id] = ApiKeyRecord(new.key_id, "acme", "k", new.secret_hash, "2026-01-01")
    return directory, new.plaintext, new.key_id


def test_generated_keys_parse_back_and_store_only_a_hash() -> None:
    new = generate_api_key()
    parsed = parse_api_key(new.plaintext)
    assert parsed is not None
    assert parsed.key_id == new.key_id
    assert hash_secret(parsed.secret) == new.secret_hash
    assert parsed.secret not in new.secret_hash
    assert generate_api_key().plaintext != new.plaintext


@given(st.text(max_size=120))
def test_parse_never_raises(token: str) -> None:
    parse_api_key(token)


def test_authenticates_a_valid_key_and_records_its_use() -> None:
    directory, key, key_id = _setup()
    auth = Authenticator(directory, clock=lambda: datetime(2026, 1, 2, tzinfo=UTC))
    principal = auth.authenticate(f"Bearer {key}")
    assert (principal.tenant_id, principal.method, principal.subject) == ("acme", AuthMethod.API_KEY, key_id)
    assert directory.touches == [(key_id, "2026-01-02T00:00:00.000000Z", "2026-01-01T23:59:00.000000Z")]


@pytest.mark.parametrize("mutate", ["revoked", "disabled", "wrong_secret", "unknown", "missing"])
def test_rejections(mutate: str) -> None:
    directory, key, key_id = _setup()
    if mutate == "revoked":
        directory.keys[key_id] = replace(directory.keys[key_id], revoked_at="2026-01-01")
    elif mutate == "disabled":
        directory.tenants["acme"] = replace(directory.tenants["acme"], status=TenantStatus.DISABLED)
    elif mutate == "wrong_secret":
        key = key[:-2] + ("zz" if not key.endswith("zz") else "yy")
    elif mutate == "unknown":
        del directory.keys[key_id]
    else:
        key = ""
    with pytest.raises(Unauthorized):
        Authenticator(directory).authenticate(f"Bearer {key}")
    assert directory.touches == []


def test_a_jwt_is_refused_when_jwt_mode_is_off() -> None:
    directory, _, _ = _setup()
    with pytest.raises(Unauthorized) as caught:
        Authenticator(directory).authenticate("Bearer aaa.bbb.ccc")
    assert caught.value.reason == "malformed"
