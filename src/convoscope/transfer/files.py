"""Reading and writing JSONL files, gzipped or not, in bounded memory."""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_GZIP_MAGIC = b"\x1f\x8b"
_BUFFER = 1 << 20


class LineReader:
    """The non-blank lines of a JSONL file, numbered from 1; gzip is told by its bytes.

    ``position`` is how far into the file on disk reading has got, so progress and its
    ETA hold for a gzipped file too.
    """

    def __init__(self, path: Path) -> None:
        self._raw = open(path, "rb")  # noqa: SIM115 (closed by close())
        self.size = os.fstat(self._raw.fileno()).st_size
        self._stream: BinaryIO = self._raw
        if self._raw.read(2) == _GZIP_MAGIC:
            self._raw.seek(0)
            self._stream = io.BufferedReader(gzip.GzipFile(fileobj=self._raw), _BUFFER)
        else:
            self._raw.seek(0)

    @property
    def position(self) -> int:
        return self._raw.tell()

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        for number, line in enumerate(self._stream, start=1):
            if line.strip():
                yield number, line

    def close(self) -> None:
        self._stream.close()
        self._raw.close()

    def __enter__(self) -> LineReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A file written as ``PATH.partial`` and renamed to ``PATH`` once complete, gzipped
    when the name ends in ``.gz``.

    The gzip header carries no name and no time, so the same data gives the same bytes.
    """
    partial = path.with_name(path.name + ".partial")
    raw = open(partial, "wb", buffering=_BUFFER)  # noqa: SIM115 (closed below)
    try:
        if path.suffix == ".gz":
            gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
            # Lines reach the compressor a megabyte at a time, not one by one.
            with io.BufferedWriter(gz, _BUFFER) as out:
                yield out
        else:
            yield raw
        raw.flush()
        os.fsync(raw.fileno())
        raw.close()
        os.replace(partial, path)
    except BaseException:
        raw.close()
        partial.unlink(missing_ok=True)
        raise
