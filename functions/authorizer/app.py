"""Lambda TOKEN authorizer of the management API: ``Authorization: Bearer <API key or JWT>``.

Answers an IAM policy that allows the whole API (API Gateway caches it per token for the
authorizer's TTL, across routes) and puts the tenant in the context; the API handlers read the
tenant only from there. Any failure raises ``Unauthorized``, which API Gateway turns into a 401
without telling the caller why (the reason goes to our logs).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.errors import Unauthorized
from dialer.observability import get_logger, get_metrics
from dialer.services.auth import Authenticator

logger = get_logger()
metrics = get_metrics()


class AuthorizerDenied(Exception):
    """Raised to make API Gateway answer 401."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@cache
def authenticator() -> Authenticator:
    """The authenticator, wired once per execution environment (not at import time)."""
    from dialer.adapters.secrets import TenantSecrets
    from dialer.adapters.tenants_table import TenantsTable
    from dialer.services.auth import JwtSettings
    from dialer.settings import get_settings

    settings = get_settings()
    jwt = None
    if settings.jwt_issuer:
        secrets = TenantSecrets(settings.param_prefix, max_age=settings.config_cache_seconds)
        jwt = JwtSettings(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            tenant_claim=settings.jwt_tenant_claim,
            jwks_url=settings.jwt_jwks_url,
            hs256_secret=secrets.jwt_hs256_secret,
        )
    return Authenticator(
        TenantsTable(settings.table_name),
        jwt=jwt,
        touch_every=timedelta(seconds=settings.api_key_touch_seconds),
    )


def allow_policy(method_arn: str, principal_id: str, context: dict[str, str]) -> dict[str, Any]:
    """An Allow for every method of this API and stage, so a cached answer serves every route."""
    arn, _, path = method_arn.partition("/")
    stage = path.split("/", 1)[0] if path else "*"
    resource = f"{arn}/{stage}/*/*"
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}],
        },
        "context": context,
    }


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """TOKEN authorizer entry point (``authorizationToken``, ``methodArn``)."""
    try:
        principal = authenticator().authenticate(event.get("authorizationToken"))
    except Unauthorized as exc:
        logger.info("management API credentials rejected", reason=exc.reason)
        metrics.add_metric(name="AuthRejected", unit="Count", value=1)
        raise AuthorizerDenied from None
    logger.info(
        "management API caller authenticated", tenant_id=principal.tenant_id, method=principal.method.value
    )
    return allow_policy(
        str(event.get("methodArn") or ""),
        principal.tenant_id,
        {
            "tenant_id": principal.tenant_id,
            "auth_method": principal.method.value,
            "subject": principal.subject,
        },
    )
