"""The import's record splitter: exact bytes and lines whatever the line ends and chunking, and a
stray quote or an over-long row costs its own line only."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.services.imports import MAX_ROW_BYTES, MAX_ROW_LINES, RawRecord, parse_row, records

TEXT = st.text(alphabet=st.sampled_from('ab ,"\n\r\u00e9'), max_size=12)


def rfc4180_row(values: list[str]) -> str:
    """A row as RFC 4180 writes it: a field holding a comma, quote, CR or LF is quoted. (The csv
    module leaves a CR unquoted when its line terminator is LF: no reader can split that file.)"""
    return ",".join(
        f'"{v.replace(chr(34), chr(34) * 2)}"' if any(c in v for c in ',"\r\n') else v for v in values
    )


def split(data: bytes, chunk: int = 7, columns: int | None = None) -> list[RawRecord]:
    chunks = iter([data[i : i + chunk] for i in range(0, len(data), chunk)])
    return list(records(chunks, first_line=1, columns=columns))


def assert_exact(data: bytes, got: list[RawRecord]) -> None:
    """Records cover the file byte for byte, and each starts on the line after the last."""
    assert sum(r.size for r in got) == len(data)
    assert b"".join(r.data for r in got) == data
    for before, after in itertools.pairwise(got):
        assert after.line == before.line + before.lines


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(TEXT, min_size=3, max_size=3), min_size=1, max_size=8),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    chunk=st.integers(1, 40),
)
def test_any_valid_csv_splits_into_its_rows(rows: list[list[str]], ending: str, chunk: int) -> None:
    # GIVEN a valid CSV (quoted fields with commas, quotes, CRs and LFs) with any line ends
    data = "".join(ending.join([*map(rfc4180_row, [["a", "b", "c"], *rows]), ""])).encode()
    # WHEN split in chunks of any size (a CRLF may straddle two chunks)
    got = split(data, chunk)
    # THEN each record is one row, with its exact bytes, and nothing is flagged
    assert_exact(data, got)
    assert [parse_row(r.data.decode()) for r in got] == [["a", "b", "c"], *rows]
    assert all(r.error is None for r in got)


def test_cr_only_lines_count_like_lf() -> None:
    data = b'h1,h2\r1,"x\ry"\r\r2,z'
    got = split(data, 3)
    assert [(r.line, r.lines, r.data) for r in got] == [
        (1, 1, b"h1,h2\r"),
        (2, 2, b'1,"x\ry"\r'),
        (4, 1, b"\r"),
        (5, 1, b"2,z"),
    ]


def test_a_stray_quote_rejects_only_its_line_and_the_rest_is_read_again() -> None:
    # GIVEN a stray quote on line 2, and a real quoted field (with a newline) on lines 4-5
    data = b'p,n,m\n1,"stray,x\n2,b,c\n3,"q\nq",d\n4,e,f\n'
    got = split(data)
    assert_exact(data, got)
    assert [(r.line, r.error) for r in got] == [
        (1, None),
        (2, "a quoted field does not close on this row"),
        (3, None),
        (4, None),
        (6, None),
    ]
    assert parse_row(got[3].data.decode()) == ["3", "q\nq", "d"]


def test_a_quote_open_at_the_end_of_the_file_rejects_its_line_only() -> None:
    data = b'p,n\n1,"open\n2,b\n3,c'
    got = split(data, columns=None)
    assert_exact(data, got)
    assert [(r.line, r.error is not None) for r in got] == [(1, False), (2, True), (3, False), (4, False)]


def test_a_quoted_field_may_not_run_on_for_ever() -> None:
    # GIVEN a quote that never closes, then many more lines than a row may span
    lines = [b"p,n\n", b'0,"opens\n', *(b"%06d,x\n" % i for i in range(10 * MAX_ROW_LINES))]
    data = b"".join(lines)
    read = 0

    def chunks():  # counts how far the splitter has read
        nonlocal read
        for i in range(0, len(data), 64):
            read = i + 64
            yield data[i : i + 64]

    stream = records(chunks(), first_line=1)
    # WHEN the splitter gives the record of the stray quote
    header, stray = next(stream), next(stream)
    # THEN it has read no more than MAX_ROW_LINES lines past it, and rejects that line only
    assert (header.error, stray.line, stray.error) == (None, 2, "a quoted field does not close on this row")
    assert read <= len(b"".join(lines[: 2 + MAX_ROW_LINES])) + 64
    rest = list(stream)
    assert_exact(data, [header, stray, *rest])
    assert len(rest) == 10 * MAX_ROW_LINES
    assert all(r.error is None for r in rest)


def test_a_quote_inside_a_field_is_a_literal_quote() -> None:
    # A quote opens a quoted field only at the start of a field (the csv module's rule).
    data = b'p,n,m\n1,Bob "Bobby" Smith,x\n2,5" pipe,y\n3,b,c\n'
    got = split(data)
    assert [(r.line, r.error) for r in got] == [(1, None), (2, None), (3, None), (4, None)]
    assert parse_row(got[2].data.decode()) == ["2", '5" pipe', "y"]


def test_an_over_long_row_is_rejected_without_holding_it() -> None:
    data = b"p,n\n1," + b"z" * (3 * MAX_ROW_BYTES) + b"\n2,b\n"
    got = split(data, 4096)
    assert [(r.line, r.size, len(r.data) <= MAX_ROW_BYTES, r.error) for r in got] == [
        (1, 4, True, None),
        (2, 3 * MAX_ROW_BYTES + 3, True, f"row is longer than {MAX_ROW_BYTES} bytes"),
        (3, 4, True, None),
    ]


def test_a_record_with_the_wrong_number_of_fields_across_lines_is_a_stray_quote() -> None:
    # The quote on line 2 "closes" on line 3, but the joined record has 4 fields, not 2.
    data = b'p,n\n1,"a\n2,b",c,d\n'
    got = split(data)
    assert_exact(data, got)
    assert [(r.line, r.error is not None) for r in got] == [(1, False), (2, True), (3, False)]
