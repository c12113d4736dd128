"""Reading the user's files (YAML specs, CSVs) with errors that name the file and the line."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

from dialer_cli.errors import CliError, ExitCode


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise CliError(f"{path}: no such file", ExitCode.USAGE) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read it as UTF-8 text ({exc})", ExitCode.USAGE) from exc


def load_spec(path: Path, required: tuple[str, ...] = ("name",)) -> dict[str, Any]:
    """A YAML mapping from ``path`` with its ``required`` keys, or a usage error saying what is wrong."""
    text = read_text(path)
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise CliError(
            f"{path}:{where} is not valid YAML: {getattr(exc, 'problem', exc)}", ExitCode.USAGE
        ) from exc
    if not isinstance(spec, dict):
        raise CliError(
            f"{path}: expected a YAML mapping (key: value lines), got {type(spec).__name__}", ExitCode.USAGE
        )
    missing = [key for key in required if not spec.get(key)]
    if missing:
        raise CliError(f"{path}: missing {', '.join(missing)}", ExitCode.USAGE)
    return spec


def lead_csv(path: Path) -> bytes:
    """A lead CSV's bytes, after the checks worth doing before an upload (non-empty, a phone column)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc})", ExitCode.USAGE) from exc
    first_line = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    header = [h.strip().lower() for h in next(csv.reader([first_line]), [])]
    if not data.strip():
        raise CliError(f"{path}: the file is empty", ExitCode.USAGE)
    if "phone" not in header:
        raise CliError(
            f"{path}: the header row has no 'phone' column (got: {first_line[:120]!r})", ExitCode.USAGE
        )
    return data


def phone_list(path: Path) -> list[str]:
    """Numbers from a one-per-line file or a CSV with a ``phone`` column (blank lines skipped)."""
    text = read_text(path)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise CliError(f"{path}: the file is empty", ExitCode.USAGE)
    header = [h.strip().lower() for h in rows[0]]
    if "phone" in header:
        column = header.index("phone")
        phones = [row[column].strip() for row in rows[1:] if len(row) > column and row[column].strip()]
    else:
        phones = [row[0].strip() for row in rows if row and row[0].strip()]
    if not phones:
        raise CliError(f"{path}: no phone numbers in it", ExitCode.USAGE)
    return phones
