"""Exit codes a script can rely on, and the one exception type that carries them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """``dialer``'s exit codes (documented in ``dialer --help`` and the README)."""

    OK = 0
    API_ERROR = 1  # the API answered with an error (5xx, a conflict, an import that failed ...)
    USAGE = 2  # bad arguments or bad input: a missing or malformed file, a value the API rejects (400/422)
    AUTH = 3  # no API key, or the API refused it (401/403)
    NOT_FOUND = 4  # the campaign, lead, assistant or call does not exist (404)
    UNREACHABLE = 5  # the API could not be reached (connection refused, DNS, timeout)
    INCOMPLETE = 6  # a wait ran out (``watch --timeout``) or a check failed (``doctor``)


EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 API error; 2 usage or bad input; 3 missing or refused API key; "
    "4 not found; 5 API unreachable; 6 wait timed out or a check failed."
)


class CliError(Exception):
    """An error to print (one line, no traceback) and exit with ``code``."""

    def __init__(self, message: str, code: ExitCode, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or []
