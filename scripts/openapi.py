"""Generate docs/openapi.json, the one OpenAPI document of the management API, from the Powertools
resolvers of the functions that serve it (``enable_validation=True`` derives it from the routes).

    python scripts/openapi.py            # rewrite docs/openapi.json
    python scripts/openapi.py --check    # exit 1 if docs/openapi.json is stale (CI)

Run with the layers on the path, as pytest does:
``PYTHONPATH=layers/telnyx_client:layers/core:. .venv/bin/python scripts/openapi.py``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOCUMENT = REPO / "docs" / "openapi.json"
# Every function whose resolver serves part of the management API.
MANAGEMENT_FUNCTIONS = [
    "assistants_api",
    "campaigns_api",
    "analytics_api",
    "scheduled_events",
    "webhook_endpoints_api",
]


def build() -> dict[str, Any]:
    """The merged document of every management function's resolver."""
    from dialer import http_api

    merged: dict[str, Any] | None = None
    for function in MANAGEMENT_FUNCTIONS:
        module = importlib.import_module(f"functions.{function}.app")
        doc = json.loads(
            module.app.get_openapi_json_schema(
                title=http_api.TITLE,
                version=http_api.VERSION,
                security_schemes=http_api.SECURITY_SCHEMES,
                security=http_api.SECURITY,
                description="Manage Telnyx AI assistants, numbers, caller IDs, campaigns, leads (JSON and CSV "
                "imports), consent and the do-not-call list of your tenant. Authenticate "
                "with `Authorization: Bearer <API key>` (or a JWT in JWT mode).",
            )
        )
        if merged is None:
            merged = doc
            continue
        for path, operations in doc.get("paths", {}).items():
            if path in merged["paths"]:
                raise SystemExit(f"{path} is served by two functions")
            merged["paths"][path] = operations
        merged.setdefault("components", {}).setdefault("schemas", {}).update(
            doc.get("components", {}).get("schemas", {})
        )
    assert merged is not None
    merged.pop("servers", None)  # the base URL is the deployment's (stack output ApiUrl)
    return merged


def render(doc: dict[str, Any]) -> str:
    """Stable text (sorted keys, two-space indent, final newline) so diffs are reviewable."""
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write or check docs/openapi.json."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.json is stale")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        if not DOCUMENT.is_file() or DOCUMENT.read_text() != text:
            print(f"{DOCUMENT.relative_to(REPO)} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(text)
    print(f"wrote {DOCUMENT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
