"""Import and export of a project's conversations as JSONL (``convoscope import``/``export``).

A part the CLI stands on: it reads and writes through the wire models (``schemas``) and
the store's upserts, so what it imports is validated and redacted as the API's writes are.
"""

from convoscope.transfer.export import ExportReport, export_project
from convoscope.transfer.files import LineReader, atomic_output
from convoscope.transfer.importer import ImportReport, import_lines
from convoscope.transfer.parse import BadLine

__all__ = [
    "BadLine",
    "ExportReport",
    "ImportReport",
    "LineReader",
    "atomic_output",
    "export_project",
    "import_lines",
]
