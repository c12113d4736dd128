"""Tenant configuration for the local stack: webhook public keys in SSM and the dev tenant's key pair."""

from __future__ import annotations

import base64
import binascii
import json
import os
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
