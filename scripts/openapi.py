"""Write the OpenAPI document of the server to docs/openapi.json (``make openapi``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from convoscope.app import create_app
from convoscope.settings import Settings

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def render_openapi() -> str:
    # Building the app connects to nothing; the URL only has to be valid.
    app = create_app(Settings(database_url="sqlite:///unused.db"))
    document: dict[str, Any] = app.openapi()
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    DOCUMENT.write_text(render_openapi(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOCUMENT.name}\n")
