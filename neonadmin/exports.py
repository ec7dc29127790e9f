"""Downloads of many rows (the audit log, the fleet), as CSV or JSON, streamed: a long export is
written as it is read and never sits in memory.

Every CSV cell goes through `inert`: text in these exports comes from people (audit messages) and
from Neon (project names, which anyone in the organization can set), and a spreadsheet would run a
cell such as `=HYPERLINK("http://x","open")` as a formula.
"""

import csv
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

# What a spreadsheet takes as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """A text cell a spreadsheet shows as text: one that starts like a formula gets a leading
    quote. Numbers stay numbers (-1 seconds means "never suspend"), and None an empty cell."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Line:
    """The file csv.writer writes to: writerow returns the line instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A CSV download: the header, then one line per row as the rows are read."""
    writer = csv.writer(_Line())
    lines = (writer.writerow([inert(v) for v in row]) for row in itertools.chain([header], rows))
    return _download(lines, filename, "text/csv; charset=utf-8")


def json_response(filename: str, records: Iterable[Mapping[str, Any]]) -> StreamingHttpResponse:
    """A JSON download: an array of the records, one a line, as the records are read."""
    return _download(_json_lines(records), filename, "application/json")


def _json_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    yield "["
    for n, record in enumerate(records):
        yield ("," if n else "") + "\n" + json.dumps(record)
    yield "\n]\n"


def _download(chunks: Iterator[str], filename: str, content_type: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
