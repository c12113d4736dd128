"""Iterate Telnyx's ``page[number]``/``page[size]`` pagination (``meta.total_pages``).

The AI endpoints and the numbers API answer ``{"data": [...], "meta": {"page_number", "page_size",
"total_pages", "total_results"}}``. :func:`iterate_pages` walks every page lazily, so a caller that
stops early fetches no more. It is guarded against a server that never stops (``max_pages``) or
returns an empty page while claiming more. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")

DEFAULT_MAX_PAGES = 1000


class PageMetaLike(Protocol):
    """The ``meta`` object of a paged response (all fields may be missing)."""

    @property
    def page_number(self) -> int | None:
        """1-based number of this page."""
        ...

    @property
    def total_pages(self) -> int | None:
        """How many pages exist in total."""
        ...


class PageLike(Protocol[T_co]):
    """A paged response: ``data`` items and an optional ``meta``."""

    @property
    def data(self) -> Sequence[T_co]:
        """The items of this page."""
        ...

    @property
    def meta(self) -> PageMetaLike | None:
        """Paging metadata, when the endpoint sends it."""
        ...


def page_params(number: int | None, size: int | None) -> dict[str, int]:
    """Query parameters for a page in Telnyx's deepObject style (``page[number]``, ``page[size]``)."""
    params: dict[str, int] = {}
    if number is not None:
        params["page[number]"] = number
    if size is not None:
        params["page[size]"] = size
    return params


def iterate_pages[T](
    fetch: Callable[[int], PageLike[T]],
    *,
    start: int = 1,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Iterator[T]:
    """Yield every item of every page, calling ``fetch(page_number)`` one page at a time.

    Stops when ``meta.total_pages`` is reached, when a page is empty, or when ``meta`` is missing
    (an endpoint that does not page returns everything at once).
    """
    number = start
    for _ in range(max_pages):
        page = fetch(number)
        yield from page.data
        meta = page.meta
        if meta is None or meta.total_pages is None or not page.data:
            return
        # Count pages ourselves: a server (or a mock) that echoes a stale page_number must not
        # make us fetch the same page forever.
        if number >= meta.total_pages:
            return
        number += 1
