"""Cut the part of Telnyx's OpenAPI spec this product uses out of the whole spec.

The whole spec (team-telnyx/openapi, ``openapi/spec3.yml``) is 4 MB of YAML with 782 paths. The
tests need only the operations the client layer calls (Prism serves them and the strict walk checks
our request bodies against them), the Call Control webhooks (the simulator's events are validated
against their schemas), and everything those reach through ``$ref``. The subset is an OpenAPI
document of its own (Prism serves it), written to ``tests/fixtures/telnyx/openapi.yml``.

Regenerate it from a newer whole spec, then update ``tests/fixtures/telnyx/SOURCE.md``::

    git -C <clone of team-telnyx/openapi> show <commit>:openapi/spec3.yml > /tmp/spec3.yml
    .venv/bin/python scripts/telnyx_spec_subset.py /tmp/spec3.yml

It prints the sha256 of both files for the provenance note. A client method on a new path needs
its path added to ``KEEP_PATHS`` below (``tests/unit/telnyx_client/test_spec_subset.py`` fails
until it is). The output is deterministic for a given input and PyYAML version.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "tests" / "fixtures" / "telnyx" / "openapi.yml"

# Path templates kept with every method they define (anchored regexes, no ``/v2`` prefix): what the
# client layer calls today plus its near neighbours (call status, every Call Control action,
# assistant versions/scheduled events/tags, conversations with messages and insights, numbers,
# Number Reputation's monitored numbers).
KEEP_PATHS = (
    r"/calls",
    r"/calls/\{call_control_id\}",
    r"/calls/\{call_control_id\}/actions/[^/]+",
    r"/texml/ai_calls/\{connection_id\}",
    r"/ai/assistants",
    r"/ai/assistants/tags",
    r"/ai/assistants/\{assistant_id\}",
    r"/ai/assistants/\{assistant_id\}/clone",
    r"/ai/assistants/\{assistant_id\}/tags(/.*)?",
    r"/ai/assistants/\{assistant_id\}/versions(/.*)?",
    r"/ai/assistants/\{assistant_id\}/scheduled_events(/.*)?",
    r"/ai/conversations(/.*)?",
    r"/phone_numbers",
    r"/phone_numbers/\{id\}",
    r"/phone_numbers/\{id\}/voice",
    r"/enterprises/\{enterprise_id\}/reputation/numbers(/\{phone_number\})?",
)
# Webhooks kept by name: every Call Control event (``callInitiated``, ``CallAIGatherEnded`` …,
# ``transcription`` is ``call.transcription``).
KEEP_WEBHOOKS = r"[cC]all.*|transcription"

# Scalars a YAML dump writes back exactly as read. Dates would come back in another spelling, so
# a spec with unquoted timestamps is refused rather than silently changed.
PLAIN_SCALARS = (str, int, float, bool, type(None))


def load(path: Path) -> dict[str, Any]:
    """The parsed whole spec."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as handle:
        spec = yaml.load(handle, Loader=loader)  # noqa: S506 - SafeLoader family only
    if not isinstance(spec, dict) or not str(spec.get("openapi", "")).startswith("3."):
        raise SystemExit(f"{path} is not an OpenAPI 3 document")
    return spec


def refs_in(node: Any) -> Iterator[str]:
    """Every local reference in ``node``: ``$ref`` values and discriminator mappings."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key == "discriminator" and isinstance(value, dict):
                yield from (v for v in (value.get("mapping") or {}).values() if isinstance(v, str))
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs_in(item)


def _component(ref: str) -> tuple[str, str]:
    """``#/components/<kind>/<name>`` → (kind, name); anything else is refused."""
    parts = ref.split("/")
    if len(parts) != 4 or parts[:2] != ["#", "components"]:
        raise SystemExit(f"unsupported $ref {ref!r} (only #/components/<kind>/<name>)")
    return parts[2], parts[3].replace("~1", "/").replace("~0", "~")


def subset(spec: dict[str, Any]) -> dict[str, Any]:
    """The kept paths and webhooks with the transitive closure of the components they reference."""
    path_re = re.compile("|".join(f"(?:{p})" for p in KEEP_PATHS))
    paths = {p: item for p, item in spec["paths"].items() if path_re.fullmatch(p)}
    webhooks = {n: item for n, item in spec.get("webhooks", {}).items() if re.fullmatch(KEEP_WEBHOOKS, n)}
    missing = [p for p in KEEP_PATHS if not any(re.fullmatch(p, kept) for kept in paths)]
    if missing:
        raise SystemExit(f"KEEP_PATHS entries match nothing in the spec: {missing}")

    components = spec.get("components", {})
    kept: dict[str, dict[str, Any]] = {}
    todo = [*refs_in(paths), *refs_in(webhooks)]
    while todo:
        kind, name = _component(todo.pop())
        if name in kept.setdefault(kind, {}):
            continue
        try:
            node = components[kind][name]
        except KeyError:
            raise SystemExit(f"dangling $ref #/components/{kind}/{name} in the whole spec") from None
        kept[kind][name] = node
        todo.extend(refs_in(node))
    # Security schemes are referenced by name, not $ref; they are few, so all are kept.
    if "securitySchemes" in components:
        kept["securitySchemes"] = components["securitySchemes"]

    operations = [op for item in [*paths.values(), *webhooks.values()] for op in item.values()]
    used_tags = {t for op in operations if isinstance(op, dict) for t in op.get("tags", [])}
    out: dict[str, Any] = {}
    for key, value in spec.items():  # the whole spec's key order
        if key == "paths":
            out[key] = paths
        elif key == "webhooks":
            out[key] = webhooks
        elif key == "components":
            out[key] = {kind: dict(sorted(kept[kind].items())) for kind in value if kept.get(kind)}
        elif key == "tags":
            out[key] = [t for t in value if t.get("name") in used_tags]
        else:
            out[key] = value
    return out


def _check_scalars(node: Any, where: str = "$") -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _check_scalars(key, where)
            _check_scalars(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _check_scalars(item, f"{where}[{i}]")
    elif not isinstance(node, PLAIN_SCALARS):
        raise SystemExit(f"{where}: {type(node).__name__} scalar would not round-trip; quote it upstream")


class _Dumper(yaml.SafeDumper):
    """Block style; multi-line strings as literal blocks where YAML allows it (readable diffs)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(doc: dict[str, Any], source_sha256: str) -> str:
    """The subset as YAML, with a header saying where it came from and how to remake it."""
    _check_scalars(doc)
    header = (
        "# GENERATED by scripts/telnyx_spec_subset.py from Telnyx's whole OpenAPI spec; do not edit.\n"
        f"# Whole spec sha256 {source_sha256}; provenance in tests/fixtures/telnyx/SOURCE.md.\n"
    )
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if yaml.load(body, Loader=loader) != doc:  # noqa: S506 - SafeLoader family only
        raise SystemExit("the YAML dump does not read back as the same document")
    return header + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("whole_spec", type=Path, help="Telnyx's whole spec (openapi/spec3.yml)")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    raw = args.whole_spec.read_bytes()
    source_sha = hashlib.sha256(raw).hexdigest()
    doc = subset(load(args.whole_spec))
    text = render(doc, source_sha)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")

    schemas = len(doc.get("components", {}).get("schemas", {}))
    print(f"whole  {args.whole_spec}  {len(raw)} bytes  sha256 {source_sha}")
    print(
        f"subset {args.output}  {len(text.encode())} bytes  sha256 {hashlib.sha256(text.encode()).hexdigest()}"
    )
    print(
        f"subset keeps {len(doc['paths'])} paths, {len(doc.get('webhooks', {}))} webhooks, {schemas} schemas"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
