"""The TOKEN authorizer against moto: API keys (hashed, revocable, last-used), JWT mode, and the policy."""

from __future__ import annotations

import time
from typing import Any

import boto3
import jwt
import pytest

from tests.integration.conftest import load_handler
from tests.integration.management.conftest import Tenant
from tests.support.aws import PARAM_PREFIX, LambdaContextStub
from tests.support.management import METHOD_ARN, InProcessApi


def _authorize(module: Any, token: str) -> dict[str, Any]:
    return module.lambda_handler(
        {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN},
        LambdaContextStub(),
    )


def test_a_valid_key_allows_the_whole_api_for_its_tenant(api: InProcessApi, alpha: Tenant) -> None:
    answer = _authorize(api.authorizer, alpha.api_key)
    assert answer["principalId"] == "alpha"
    assert answer["context"] == {"tenant_id": "alpha", "auth_method": "api_key", "subject": alpha.key_id}
    statement = answer["policyDocument"]["Statement"][0]
    # A wildcard resource, so API Gateway's cached answer serves every route of the stage.
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/test/*/*",
    }


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "tdk_",
        "tdk_nothex_secretsecretsecretsecretsecretsecret",
        "tdk_0123456789abcdef_" + "A" * 43,
        "eyJhbGciOiJub25lIn0.e30.",
    ],
)
def test_bad_tokens_are_denied(api: InProcessApi, token: str) -> None:
    with pytest.raises(api.authorizer.AuthorizerDenied, match=r"^Unauthorized$"):
        _authorize(api.authorizer, token)


def test_a_wrong_secret_for_a_real_key_id_is_denied(api: InProcessApi, alpha: Tenant) -> None:
    forged = alpha.api_key[:-4] + ("AAAA" if not alpha.api_key.endswith("AAAA") else "BBBB")
    with pytest.raises(api.authorizer.AuthorizerDenied):
        _authorize(api.authorizer, forged)


def test_issue_use_and_revoke_a_key(api: InProcessApi, alpha: Tenant, aws: dict[str, Any]) -> None:
    # GIVEN a second key issued through the API (shown once)
    created = api.post("/tenants/me/api-keys", alpha.api_key, {"name": "ci"})
    assert created.status == 201
    new_key, key_id = created.body["api_key"], created.body["key_id"]
    assert new_key.startswith(f"tdk_{key_id}_")
    # THEN only its hash is stored
    item = aws["dynamodb"].get_item(
        TableName=_table(), Key={"pk": {"S": f"APIKEY#{key_id}"}, "sk": {"S": "APIKEY"}}
    )
    assert new_key.split("_", 2)[2] not in str(item)
    # AND it works, and records its last use
    assert api.get("/tenants/me", new_key).body["tenant_id"] == "alpha"
    listed = {k["key_id"]: k for k in api.get("/tenants/me/api-keys", alpha.api_key).body["data"]}
    assert listed[key_id]["last_used_at"]
    assert "api_key" not in listed[key_id]
    # WHEN it is revoked THEN it stops working
    assert api.delete(f"/tenants/me/api-keys/{key_id}", alpha.api_key).status == 204
    assert api.get("/tenants/me", new_key).status == 401
    assert api.get("/tenants/me", alpha.api_key).status == 200


def test_a_disabled_tenant_is_denied(api: InProcessApi, aws: dict[str, Any]) -> None:
    from dialer.adapters.tenants_table import TenantsTable
    from dialer.domain.tenants import TenantStatus
    from tests.integration.management.conftest import bootstrap

    tenant = bootstrap("charlie", "KEY_ALPHA")
    assert api.get("/tenants/me", tenant.api_key).status == 200
    TenantsTable(_table()).set_tenant_status("charlie", TenantStatus.DISABLED)
    assert api.get("/tenants/me", tenant.api_key).status == 401


def test_jwt_mode_with_hs256(api: InProcessApi, alpha: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    from dialer.settings import get_settings

    boto3.client("ssm").put_parameter(
        Name=f"{PARAM_PREFIX}/auth/jwt_hs256_secret", Value="s" * 40, Type="SecureString", Overwrite=True
    )
    monkeypatch.setenv("JWT_ISSUER", "https://login.example")
    monkeypatch.setenv("JWT_AUDIENCE", "dialer")
    get_settings.cache_clear()
    module = load_handler("authorizer")
    module.authenticator.cache_clear()
    now = int(time.time())
    claims = {
        "iss": "https://login.example",
        "aud": "dialer",
        "exp": now + 60,
        "sub": "user-1",
        "tenant_id": "alpha",
    }
    good = jwt.encode(claims, "s" * 40, algorithm="HS256")
    answer = _authorize(module, good)
    assert answer["context"] == {"tenant_id": "alpha", "auth_method": "jwt", "subject": "user-1"}
    for bad in (
        jwt.encode({**claims, "aud": "other"}, "s" * 40, algorithm="HS256"),
        jwt.encode({**claims, "exp": now - 600}, "s" * 40, algorithm="HS256"),
        jwt.encode({**claims, "tenant_id": "nobody"}, "s" * 40, algorithm="HS256"),
        jwt.encode(claims, "t" * 40, algorithm="HS256"),
        jwt.encode({k: v for k, v in claims.items() if k != "tenant_id"}, "s" * 40, algorithm="HS256"),
    ):
        with pytest.raises(module.AuthorizerDenied):
            _authorize(module, bad)
    module.authenticator.cache_clear()
    get_settings.cache_clear()


def _table() -> str:
    from dialer.settings import get_settings

    return get_settings().table_name
