"""Tenant configuration for the local stack: webhook public keys in SSM and the dev tenant's key pair."""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from pathlib import Path
from typing import Any


def public_key_parameter(param_prefix: str, tenant: str) -> str:
    """SSM name of a tenant's Telnyx webhook public key (the functions read the same path)."""
    return f"{param_prefix.rstrip('/')}/tenants/{tenant}/webhook_public_key"


def check_public_key(public_key_b64: str) -> str:
    """The key if it is base64 of 32 raw bytes (an Ed25519 public key, as Telnyx shows it)."""
    try:
        raw = base64.b64decode(public_key_b64.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"public key is not base64: {exc}") from exc
    if len(raw) != 32:
        raise ValueError(f"public key must be 32 bytes, got {len(raw)}")
    return public_key_b64.strip()


def dev_tenant(path: Path) -> dict[str, Any]:
    """The ``default`` tenant's key pair, kept in ``path`` across restarts so a running simulator's
    signatures stay valid; created on first use. ``signing_seed`` is the 32-byte Ed25519 seed
    (``nacl.signing.SigningKey(base64.b64decode(seed))`` signs with it)."""
    if path.is_file():
        data = json.loads(path.read_text())
        if {"tenant_id", "public_key", "signing_seed"} <= data.keys():
            return data
    # cryptography comes with moto in the tools venv; PyNaCl is only in the runtime venv.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    raw = serialization.Encoding.Raw
    seed = key.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    data = {
        "tenant_id": "default",
        "public_key": base64.b64encode(
            key.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
        ).decode(),
        "signing_seed": base64.b64encode(seed).decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # a private key: owner only
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    return data


def bootstrap_tenant(
    stack: dict[str, Any],
    tenant: str,
    *,
    telnyx_api_key: str,
    connection_id: str,
    name: str,
    channel_limit: int | None = None,
    inbound_reserve: int | None = None,
    telnyx_base_url: str | None = None,
) -> dict[str, str]:
    """Create ``tenant`` on a running local stack (``stack``: its description, as in its ready
    file) through ``scripts/tenant.py``, as an operator would: tenant record, first management API
    key, its Telnyx API key, a Call Control connection (and, given ``telnyx_base_url``, its default
    insight group). Returns the key id and the API key."""
    repo = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(repo / p) for p in ("layers/telnyx_client", "layers/core", ".")),
        "AWS_ENDPOINT_URL": stack["aws_endpoint"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": stack["region"],
        "TELNYX_API_KEY": telnyx_api_key,  # read by the script from its environment, never argv
    }
    prefix = stack["param_prefixes"][0] if stack["param_prefixes"] else "/telnyx-ai-dialer/local"
    limits = ["--channel-limit", str(channel_limit)] if channel_limit else []
    if inbound_reserve is not None:
        limits += ["--inbound-reserve", str(inbound_reserve)]
    if telnyx_base_url:
        # The default insight group is created on this Telnyx (the simulator), its webhook on the stack.
        limits += ["--telnyx-base-url", telnyx_base_url, "--public-url", stack["api_url"]]
    out = subprocess.run(
        [
            str(repo / ".venv" / "bin" / "python"),
            "scripts/tenant.py",
            "--table",
            stack["resources"]["StateTable"],
            "--param-prefix",
            prefix,
            "bootstrap",
            tenant,
            "--name",
            name,
            "--connection-id",
            connection_id,
            *limits,
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"tenant bootstrap failed: {out.stderr.strip()[-2000:]}")
    values = dict(
        line.split("=", 1) for line in out.stdout.splitlines() if line.startswith(("api_key=", "key_id="))
    )
    return {"api_key": values["api_key"], "key_id": values["key_id"].split()[0]}
