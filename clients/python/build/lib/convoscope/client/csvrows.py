"""Rows of a CSV export, parsed as its bytes arrive, in memory flat in the export's size."""

from __future__ import annotations

import csv
from collections.abc import Iterator


class CsvRows:
    """Feed text in pieces of any size; take out each complete record as a dict.

    A record ends at a newline outside quotes: quotes inside a field are doubled
    (RFC 4180), so an even count of ``"`` so far means the line ends the record.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._quotes = 0
        self._header: list[str] | None = None

    def feed(self, text: str) -> Iterator[dict[str, str]]:
        start = 0
        while True:
            end = text.find("\n", start)
            if end < 0:
                self._add(text[start:])
                return
            self._add(text[start : end + 1])
            start = end + 1
            if self._quotes % 2 == 0:
                row = self._take()
                if row is not None:
                    yield row

    def close(self) -> Iterator[dict[str, str]]:
        """The last record, when the export did not end with a newline."""
        if self._pending.strip():
            row = self._take()
            if row is not None:
                yield row

    def _add(self, piece: str) -> None:
        self._pending += piece
        self._quotes += piece.count('"')

    def _take(self) -> dict[str, str] | None:
        record, self._pending, self._quotes = self._pending, "", 0
        fields = next(csv.reader([record]), [])
        if self._header is None:
            self._header = fields
            return None
        if not fields:
            return None
        return dict(zip(self._header, fields, strict=False))
