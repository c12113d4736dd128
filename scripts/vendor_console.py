"""Copies the console's front-end stack from node_modules (installed by ``npm ci`` from the
lockfile, `make setup`) into functions/console/static/vendor, where ``sam build`` picks it up.

The console's ES modules import ``./vendor/*.mjs`` by path: no bundler and no import map (an
inline import map would need an exception in the page's Content-Security-Policy), so the one bare
import among them (preact's hooks import ``preact``) is rewritten to the file beside it. The
versions come from the lockfile; each file starts with a line naming its package and version.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULES = REPO / "node_modules"
TARGET = REPO / "functions" / "console" / "static" / "vendor"
# target file: (package, file inside the package, {bare import: the vendored file})
FILES = {
    "preact.mjs": ("preact", "dist/preact.mjs", {}),
    "hooks.mjs": ("preact", "hooks/dist/hooks.mjs", {'from"preact"': 'from"./preact.mjs"'}),
    "htm.mjs": ("htm", "dist/htm.mjs", {}),
}


def vendored(package: str, inner: str, imports: dict[str, str]) -> str:
    meta = json.loads((MODULES / package / "package.json").read_text())
    text = (MODULES / package / inner).read_text()
    for bare, local in imports.items():
        if bare not in text:
            raise SystemExit(f"vendor_console: {package}/{inner} no longer imports {bare}: update FILES")
        text = text.replace(bare, local)
    # No source map is shipped: the comment would make a browser's devtools ask for a missing file.
    lines = [line for line in text.splitlines() if not line.startswith("//# sourceMappingURL=")]
    header = f"/* {package} {meta['version']} ({meta.get('license', '?')}), from npm; vendored by scripts/vendor_console.py */"
    return "\n".join([header, *lines]) + "\n"


def main() -> int:
    if not (MODULES / "preact" / "package.json").is_file():
        print("vendor_console: node_modules/preact is missing: run `make setup` (npm ci)", file=sys.stderr)
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, (package, inner, imports) in FILES.items():
        text = vendored(package, inner, imports)
        target = TARGET / name
        if not target.is_file() or target.read_text() != text:  # unchanged files keep sam build's cache
            target.write_text(text)
    licenses = "\n\n".join(
        f"{package}:\n" + (MODULES / package / "LICENSE").read_text()
        for package in sorted({p for p, _, _ in FILES.values()})
    )
    notice = TARGET / "LICENSES.txt"
    if not notice.is_file() or notice.read_text() != licenses:
        notice.write_text(licenses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
