"""Re-sign the body of an API Gateway sample event, so `sam local invoke -e` passes verification.

Sample events in events/webhook_intake/ are signed with a published *test* key and an old
timestamp, so as checked in they demonstrate a 401 (stale). To see them accepted:

    .venv/bin/python scripts/sign_event.py events/webhook_intake/call_hangup.json \
        --seed-file .local/dev-tenant.json > /tmp/signed.json
    sam local invoke WebhookIntakeFunction -e /tmp/signed.json --env-vars events/env.json

The seed file is JSON with a base64 ``signing_seed`` (the local stack writes one), or pass
``--test-key`` to sign with the published test key (matching tests/support/signing.py).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path

from nacl.signing import SigningKey

# Runs from a clone as printed in the README, without PYTHONPATH: the signer lives in the layer.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "telnyx_client"))
from telnyx_client.signature import sign

TEST_SEED = bytes([7]) * 32  # the published test key: never use it for a real tenant


def resign(event: dict, seed: bytes, timestamp: int | None = None) -> dict:
    """Return ``event`` with fresh Telnyx signature headers over its (possibly base64) body."""
    raw = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else event["body"].encode()
    headers = sign(raw, SigningKey(seed), timestamp=timestamp or int(time.time()))
    return {
        **event,
        "headers": {**event["headers"], **headers},
        "multiValueHeaders": {**event["multiValueHeaders"], **{k: [v] for k, v in headers.items()}},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("event", type=Path)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--seed-file", type=Path)
    group.add_argument("--test-key", action="store_true")
    parser.add_argument("--timestamp", type=int, default=None)
    args = parser.parse_args()

    seed = (
        TEST_SEED
        if args.test_key
        else base64.b64decode(json.loads(args.seed_file.read_text())["signing_seed"])
    )
    event = resign(json.loads(args.event.read_text()), seed, args.timestamp)
    json.dump(event, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
