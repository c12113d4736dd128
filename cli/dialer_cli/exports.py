"""The results export as the CLI fetches it: inline CSV, a presigned link (303), or an
asynchronous export (202: the campaign is too big to read inside one API answer) that it polls
until the link is there."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from dialer_cli.api import Api
from dialer_cli.errors import CliError, ExitCode

#: How long ``campaigns export`` waits for an asynchronous export by default.
DEFAULT_WAIT_SECONDS = 900.0


def results(
    api: Api,
    campaign_id: str,
    *,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_wait: Callable[[str], None] = lambda message: None,
) -> str | None:
    """The campaign's results CSV from the API, or None when this API has no results route (a
    stack older than the CLI: the caller builds them from the leads)."""
    response = api.send("GET", f"/campaigns/{campaign_id}/results")
    if response.status_code == 202:
        response = _await_export(api, response, wait_seconds, sleep, clock, on_wait)
    if response.status_code == 303 and response.headers.get("location"):
        # A big export waits in S3 behind a presigned link: fetched without the API key (S3
        # refuses a second credential), through the same error handling.
        return api.download(response.headers["location"])
    if response.is_success and response.headers.get("content-type", "").startswith("text/csv"):
        return response.text
    return None


def _await_export(
    api: Api,
    response: httpx.Response,
    wait_seconds: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    on_wait: Callable[[str], None],
) -> httpx.Response:
    """Poll an asynchronous export until it answers 303 (done) or says it failed."""
    location = response.headers.get("location") or response.json().get("location", "")
    deadline = clock() + wait_seconds
    on_wait(f"the campaign is big: its results are being exported ({location})")
    while response.status_code == 202:
        if clock() >= deadline:
            raise CliError(
                f"the results export did not finish in {wait_seconds:.0f} s; it goes on: GET {location}",
                ExitCode.INCOMPLETE,
            )
        sleep(_retry_after(response))
        response = api.send("GET", location)
    if response.status_code == 303:
        return response
    if response.is_success:  # 200: the export's record, failed
        body = response.json()
        raise CliError(f"the results export failed: {body.get('failure') or body}", ExitCode.API_ERROR)
    raise api.error("GET", location, response)


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(30.0, max(1.0, float(response.headers.get("retry-after", "5"))))
    except ValueError:
        return 5.0
