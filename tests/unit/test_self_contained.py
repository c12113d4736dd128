"""The repository stands alone: no code, test, benchmark or script reads a file outside it.

The Telnyx examples and spec used to be read from a ``shared/`` folder beside the repository;
they now live in ``tests/fixtures/telnyx`` (with their provenance). A clone must run its tests
without any sibling folder, so paths that climb out of the repository are refused here.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("functions", "layers", "local", "tests", "bench", "scripts", "cli", "examples")
ROOT_FILES = ("Makefile", "pyproject.toml", "template.yaml", "package.json", "samconfig.toml")
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules", ".aws-sam"}

# Ways a path out of the repository has been (or could be) spelled.
OUTSIDE = re.compile(
    r"\.\./+shared"  # ../shared/telnyx/...
    r"|\bparents?\b(\[\d+\])?\s*/\s*[\"']shared[\"']"  # REPO.parent / "shared"
    r"|TELNYX_SHARED_DIR"
    r"|[\"'`(\s]/work/"  # absolute paths of a development machine
)


def scanned_files() -> list[Path]:
    files = [REPO / name for name in ROOT_FILES if (REPO / name).is_file()]
    for top in SCANNED:
        files.extend(
            p
            for p in (REPO / top).rglob("*")
            if p.is_file() and not SKIPPED_DIRS.intersection(p.relative_to(REPO).parts)
        )
    return sorted(f for f in files if f != Path(__file__).resolve())


def outside_references(files: list[Path], root: Path = REPO) -> list[str]:
    """``file:line: text`` of every line that names a path outside the repository."""
    found = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_nothing_reads_outside_the_repository() -> None:
    files = scanned_files()
    assert len(files) > 100  # the walk found the code base
    assert not outside_references(files)


def test_the_check_sees_each_spelling(tmp_path: Path) -> None:
    # GIVEN one file per way a path out of the repository has been written
    spellings = [
        'SHARED = Path(os.environ.get("X", REPO.parent / "shared"))',
        "spec = REPO_ROOT.parents[1] / 'shared' / 'telnyx'",
        "default ``<repo>/../shared/telnyx/openapi.yml``",
        'SPEC = Path("/work/shared/telnyx/openapi.yml")',
        "os.environ['TELNYX_SHARED_DIR']",
    ]
    files = []
    for i, line in enumerate(spellings):
        files.append(tmp_path / f"f{i}.py")
        files[-1].write_text(f"x = 1\n{line}\n")
    clean = tmp_path / "clean.py"
    clean.write_text('"""The shared logger; a shared secret; tools merged with shared:true."""\n')
    # WHEN scanned
    found = outside_references([*files, clean], root=tmp_path)
    # THEN each one is reported (by file and line), and ordinary uses of the word are not
    assert found == [f"f{i}.py:2: {line}" for i, line in enumerate(spellings)]
