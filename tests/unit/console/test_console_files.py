"""The console function: what it serves, with which headers, and that its pages cannot run
anything but the files it serves (no inline code, no HTML built from strings, every import found)."""

from __future__ import annotations

import importlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from scripts import vendor_console

REPO = Path(__file__).resolve().parents[3]
STATIC = REPO / "functions" / "console" / "static"
console = importlib.import_module("functions.console.app")


def event(path: str, method: str = "GET") -> dict[str, Any]:
    proxy = path.removeprefix("/console").removeprefix("/") or None
    return {
        "httpMethod": method,
        "resource": "/console/{proxy+}" if proxy else "/console",
        "path": path,
        "pathParameters": {"proxy": proxy} if proxy else None,
    }


def test_the_page_carries_a_strict_policy() -> None:
    answer = console.lambda_handler(event("/console"), None)
    assert answer["statusCode"] == 200
    headers = answer["headers"]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-cache"
    directives = dict(d.split(" ", 1) for d in headers["Content-Security-Policy"].split("; "))
    assert directives["default-src"] == "'none'"
    for name in ("script-src", "style-src", "connect-src", "img-src"):
        assert directives[name] == "'self'", name  # no 'unsafe-inline', no eval, no other origin
    assert directives["frame-ancestors"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "<title>" in answer["body"]


def test_scripts_are_served_as_javascript_and_the_icon_as_svg() -> None:
    script = console.lambda_handler(event("/console/js/app.js"), None)
    assert script["statusCode"] == 200
    assert script["headers"]["Content-Type"] == "text/javascript; charset=utf-8"
    assert "Content-Security-Policy" in script["headers"]
    icon = console.lambda_handler(event("/console/icon.svg"), None)
    assert icon["headers"]["Content-Type"] == "image/svg+xml"
    assert not icon["isBase64Encoded"]


@pytest.mark.parametrize(
    "path",
    [
        "/console/nope.js",
        "/console/../app.py",
        "/console/js/../../app.py",
        "/console/app.py",
        "/console/requirements.txt",
        "/console/static/index.html",
        "/console/%2e%2e/app.py",
    ],
)
def test_only_the_static_files_are_served(path: str) -> None:
    answer = console.lambda_handler(event(path), None)
    assert answer["statusCode"] == 404
    assert answer["body"] == "not found\n"


def test_a_write_is_refused() -> None:
    assert console.lambda_handler(event("/console", "POST"), None)["statusCode"] == 405


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.refs: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "style" or "style" in named:
            self.problems.append(f"inline style on <{tag}>")
        self.problems += [f"handler {k} on <{tag}>" for k in named if k.startswith("on")]
        if tag == "script":
            self._in_script = True
            if not named.get("src"):
                self.problems.append("inline <script>")
        for key in ("src", "href"):
            if named.get(key):
                self.refs.append(str(named[key]))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline script text")


def test_the_page_has_no_inline_code_and_names_only_served_files() -> None:
    page = _Page()
    page.feed((STATIC / "index.html").read_text())
    assert page.problems == []
    served = set(console.files())
    # the page is /console: its relative references resolve under /console/
    assert {ref.removeprefix("console/") for ref in page.refs} <= served, page.refs


def test_the_check_sees_inline_code() -> None:
    page = _Page()
    page.feed('<div style="x" onclick="y"><script>alert(1)</script></div>')
    assert len(page.problems) == 4


# Ways to turn a string into markup or code: values reach the page as text nodes and attributes
# through Preact, never through one of these.
UNSAFE = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|dangerouslySetInnerHTML|document\.write|\beval\(|new Function"
)


def test_no_script_builds_markup_or_code_from_strings() -> None:
    found = {str(p.relative_to(STATIC)): UNSAFE.findall(p.read_text()) for p in (STATIC / "js").glob("*.js")}
    assert found
    assert {name: hits for name, hits in found.items() if hits} == {}
    assert UNSAFE.search("el.innerHTML = x")
    assert UNSAFE.search("eval(x)")


def test_every_import_resolves_to_a_served_or_vendored_file() -> None:
    vendored = {
        f"vendor/{name}": vendor_console.vendored(package, inner, imports)
        for name, (package, inner, imports) in vendor_console.FILES.items()
    }
    modules = {str(p.relative_to(STATIC)): p.read_text() for p in (STATIC / "js").glob("*.js")}
    available = set(modules) | set(vendored)
    missing = []
    for name, source in {**modules, **vendored}.items():
        for target in re.findall(r"""\bfrom\s*["']([^"']+)["']""", source):
            if not target.startswith("."):
                missing.append(f"{name}: bare import {target!r} (the browser cannot resolve it)")
                continue
            resolved = (Path(name).parent / target).as_posix()
            resolved = re.sub(r"[^/]+/\.\./", "", resolved).removeprefix("./")
            if resolved not in available:
                missing.append(f"{name}: {target}")
    assert missing == []


def test_vendored_files_name_the_locked_versions() -> None:
    lock = json.loads((REPO / "package-lock.json").read_text())["packages"]
    for name, (package, inner, imports) in vendor_console.FILES.items():
        version = lock[f"node_modules/{package}"]["version"]
        text = vendor_console.vendored(package, inner, imports)
        assert text.startswith(f"/* {package} {version} "), name
        assert "sourceMappingURL" not in text
    assert not lock["node_modules/preact"].get("dev")  # shipped with the console
    assert lock["node_modules/axe-core"].get("dev")  # the tests' only


def test_every_file_in_the_folder_is_served() -> None:
    # A file of a type the function does not serve (a PNG: binary) would silently answer 404.
    kept = {
        p.relative_to(STATIC).as_posix()
        for p in STATIC.rglob("*")
        if p.is_file() and not p.relative_to(STATIC).as_posix().startswith("vendor/")
    }
    assert kept
    assert kept <= set(console.files())
