"""The Telnyx material the tests read, all kept in the repository under ``tests/fixtures/telnyx``.

* ``events/``: example webhooks (constructed from the spec and the SDK, not captured traffic);
* ``openapi.yml``: the part of Telnyx's OpenAPI spec the client uses, cut from the whole spec by
  ``scripts/telnyx_spec_subset.py``.

``SOURCE.md`` beside them gives their provenance (repository, commit, sha256). Nothing here reads
outside the repository; ``TELNYX_OPENAPI_SPEC`` may point the spec-based tests at another copy
(e.g. the whole spec, to check the subset lost nothing they need).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

TELNYX_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telnyx"
EVENTS_DIR = TELNYX_FIXTURES / "events"
OPENAPI_SUBSET = TELNYX_FIXTURES / "openapi.yml"


def openapi_spec_path() -> Path:
    """The spec the tests use: the repository's subset unless ``TELNYX_OPENAPI_SPEC`` names another."""
    configured = os.environ.get("TELNYX_OPENAPI_SPEC")
    return Path(configured) if configured else OPENAPI_SUBSET


def load_openapi_spec(cache_dir: Path | None = None, path: Path | None = None) -> dict[str, Any]:
    """The parsed spec (default: ``openapi_spec_path()``). With ``cache_dir`` the parse (~1 s of YAML)
    is cached there as JSON, keyed by the file's sha256, so later processes (xdist workers, reruns)
    skip it."""
    path = path or openapi_spec_path()
    if not path.is_file():
        # A conformance suite without its spec fails; it never skips (or crashes obscurely).
        pytest.fail(f"Telnyx OpenAPI spec not found at {path}; set TELNYX_OPENAPI_SPEC", pytrace=False)
    raw = path.read_bytes()
    cache_file = None
    if cache_dir is not None:
        cache_file = cache_dir / f"spec-{hashlib.sha256(raw).hexdigest()[:16]}.json"
        if cache_file.is_file():
            with contextlib.suppress(ValueError, OSError):
                cached: dict[str, Any] = json.loads(cache_file.read_bytes())
                return cached
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec: dict[str, Any] = yaml.load(raw, Loader=loader)  # noqa: S506 - SafeLoader family only
    if cache_file is not None:
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(spec, default=str))
        tmp.replace(cache_file)
    return spec
