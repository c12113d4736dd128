"""Bootstrap and administer tenants: create a tenant, issue/revoke API keys, store its Telnyx secrets,
set its dialing connection and limits (``set-dialing``; ``bootstrap`` takes the same options), and
create its default insight group on Telnyx (``insight-group``; ``bootstrap`` does it too once the
tenant has a Telnyx API key; the management API's ``POST /tenants/me/insight-group`` is the same).

Against a deployed stack (reads the StateTableName and TenantParameterPath outputs)::

    python scripts/tenant.py --stack-name telnyx-ai-dialer bootstrap acme --telnyx-api-key-file key.txt

Against the local stack (moto) or any explicit table::

    AWS_ENDPOINT_URL=http://127.0.0.1:5000 python scripts/tenant.py \\
        --table <StateTable> --param-prefix /telnyx-ai-dialer/local bootstrap acme --telnyx-api-key KEY...

The API key is printed once (stdout, last line: ``api_key=...``); only its hash is stored. Secrets are
read from ``--*-file`` or the environment (TELNYX_API_KEY, TELNYX_PUBLIC_KEY) rather than the command
line where possible, so they stay out of shell history. Run with the layers on the path:
``PYTHONPATH=layers/telnyx_client:layers/core:. .venv/bin/python scripts/tenant.py ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def _stack_outputs(stack_name: str) -> dict[str, str]:
    import boto3

    stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def _table_and_prefix(args: argparse.Namespace) -> tuple[str, str]:
    table, prefix = args.table, args.param_prefix
    if args.stack_name:
        outputs = _stack_outputs(args.stack_name)
        table = table or outputs["StateTableName"]
        prefix = prefix or outputs["TenantParameterPath"].rstrip("/").removesuffix("/tenants")
    if not table or not prefix:
        raise SystemExit("give --stack-name, or --table and --param-prefix")
    return table, prefix


def _admin(args: argparse.Namespace) -> Any:
    import boto3

    from dialer.adapters.secrets import TenantSecrets
    from dialer.adapters.tenants_table import TenantsTable
    from dialer.services.tenants import TenantAdmin

    table, prefix = _table_and_prefix(args)
    return TenantAdmin(
        TenantsTable(table, client=boto3.client("dynamodb")),
        TenantSecrets(prefix, client=boto3.client("ssm")),
    )


def _secret(value: str | None, file: Path | None, env: str) -> str | None:
    if file is not None:
        return file.read_text().strip()
    return value or os.environ.get(env) or None


def _set_secrets(admin: Any, args: argparse.Namespace) -> list[str]:
    return list(
        admin.set_secrets(
            args.tenant_id,
            telnyx_api_key=_secret(args.telnyx_api_key, args.telnyx_api_key_file, "TELNYX_API_KEY"),
            webhook_public_key=_secret(args.webhook_public_key, None, "TELNYX_PUBLIC_KEY"),
            tool_secret=_secret(None, args.tool_secret_file, "TOOL_SECRET"),
            generate_tool_secret=True,
        )
    )


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _set_dialing(args: argparse.Namespace) -> bool:
    """The tenant's Call Control connection and Telnyx limits (only the options given)."""
    import boto3

    from dialer.adapters.dialing_table import DialingTable

    values = {
        "call_control_connection_id": args.connection_id,
        "channel_limit": args.channel_limit,
        "dials_per_second": args.dials_per_second,
        "dials_per_5s": args.dials_per_5s,
        "inbound_reserve": args.inbound_reserve,
    }
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return True
    table, _ = _table_and_prefix(args)
    return DialingTable(table, client=boto3.client("dynamodb")).set_tenant_limits(args.tenant_id, **given)


def _ensure_insight_group(args: argparse.Namespace) -> str:
    """The tenant's default insight group on Telnyx (idempotent); returns its id."""
    import boto3

    from dialer.adapters.insights_table import InsightsTable
    from dialer.adapters.secrets import TenantSecrets
    from dialer.services.insight_groups import InsightGroups
    from dialer.services.telnyx_accounts import TelnyxAccounts

    table, prefix = _table_and_prefix(args)
    public_url = args.public_url or (_stack_outputs(args.stack_name)["ApiUrl"] if args.stack_name else None)
    secrets = TenantSecrets(prefix, client=boto3.client("ssm"))
    accounts = TelnyxAccounts(secrets, base_url=args.telnyx_base_url, timeout=10.0)
    groups = InsightGroups(
        args.tenant_id,
        lambda: accounts.client_for(args.tenant_id),
        InsightsTable(table, client=boto3.client("dynamodb")),
        secrets,
        base_url=public_url,
    )
    mapping, _ = groups.ensure()
    return mapping.group_id


def main(argv: list[str] | None = None) -> int:
    """The CLI."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack-name", help="deployed stack whose outputs name the table and SSM path")
    parser.add_argument("--table", help="the StateTable name (overrides the stack output)")
    parser.add_argument("--param-prefix", help="PARAM_PREFIX, e.g. /telnyx-ai-dialer/dev")
    sub = parser.add_subparsers(dest="command", required=True)

    def secrets_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--telnyx-api-key", help="prefer --telnyx-api-key-file or $TELNYX_API_KEY")
        p.add_argument("--telnyx-api-key-file", type=Path)
        p.add_argument(
            "--webhook-public-key", help="base64 Ed25519 key from the Telnyx portal ($TELNYX_PUBLIC_KEY)"
        )
        p.add_argument("--tool-secret-file", type=Path, help="default: generated once")

    def dialing_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--connection-id", help="the Telnyx Call Control connection (app) dials go out on")
        p.add_argument("--channel-limit", type=int, help="concurrent calls (Telnyx account's limit)")
        p.add_argument("--dials-per-second", type=int, help="dial rate (Telnyx default 30)")
        p.add_argument("--dials-per-5s", type=int, help="rolling 5-second dial cap (Telnyx default 150)")
        p.add_argument(
            "--inbound-reserve",
            type=_non_negative,
            help="channels outbound dials never take, kept for inbound calls (default 0)",
        )

    def insight_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--public-url", help="this deployment's API URL, for the group's webhook (default: ApiUrl output)"
        )
        p.add_argument("--telnyx-base-url", default="https://api.telnyx.com/v2")

    p = sub.add_parser("bootstrap", help="create a tenant, its first API key and store its secrets")
    p.add_argument("tenant_id")
    p.add_argument("--name")
    p.add_argument("--key-name", default="bootstrap")
    secrets_args(p)
    dialing_args(p)
    insight_args(p)
    p = sub.add_parser("insight-group", help="create (idempotently) the tenant's default insight group")
    p.add_argument("tenant_id")
    insight_args(p)
    p = sub.add_parser("create-tenant")
    p.add_argument("tenant_id")
    p.add_argument("--name")
    p = sub.add_parser("create-api-key")
    p.add_argument("tenant_id")
    p.add_argument("--key-name", default="cli")
    p = sub.add_parser("list-api-keys")
    p.add_argument("tenant_id")
    p = sub.add_parser("revoke-api-key")
    p.add_argument("tenant_id")
    p.add_argument("key_id")
    p = sub.add_parser("set-secrets")
    p.add_argument("tenant_id")
    secrets_args(p)
    p = sub.add_parser("set-dialing", help="the tenant's Call Control connection and Telnyx limits")
    p.add_argument("tenant_id")
    dialing_args(p)
    args = parser.parse_args(argv)

    from dialer.errors import DialerError

    admin = _admin(args)
    try:
        if args.command in ("bootstrap", "create-tenant"):
            tenant = admin.create_tenant(args.tenant_id, args.name)
            print(f"tenant {tenant.tenant_id} created")
        if args.command == "bootstrap":
            for name in _set_secrets(admin, args):
                print(f"stored {name}")
        if args.command == "set-secrets":
            for name in _set_secrets(admin, args):
                print(f"stored {name}")
        if args.command in ("bootstrap", "set-dialing"):
            if not _set_dialing(args):
                print(f"error: no tenant {args.tenant_id}", file=sys.stderr)
                return 1
            if args.command == "set-dialing":
                print(f"dialing settings of {args.tenant_id} stored")
        if args.command == "insight-group":
            print(f"insight_group_id={_ensure_insight_group(args)}")
        if args.command == "bootstrap" and admin.secrets.telnyx_api_key(args.tenant_id):
            try:
                print(f"insight_group_id={_ensure_insight_group(args)}")
            except DialerError as exc:
                # The tenant exists and works without it; `insight-group` (or the API) retries.
                print(
                    f"warning: insight group not created ({exc}); run `insight-group` later", file=sys.stderr
                )
        if args.command in ("bootstrap", "create-api-key"):
            issued = admin.issue_api_key(args.tenant_id, args.key_name)
            print(f"key_id={issued.record.key_id} (shown once, store it now)")
            print(f"api_key={issued.plaintext}")
        if args.command == "list-api-keys":
            for key in admin.list_api_keys(args.tenant_id):
                print(
                    json.dumps(
                        {
                            "key_id": key.key_id,
                            "name": key.name,
                            "created_at": key.created_at,
                            "revoked_at": key.revoked_at,
                            "last_used_at": key.last_used_at,
                        }
                    )
                )
        if args.command == "revoke-api-key":
            admin.revoke_api_key(args.tenant_id, args.key_id)
            print(f"revoked {args.key_id}")
    except DialerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
