"""An analyzer whose every call takes a minute, as a category fit over thousands of
threads does: importable by name, so a spawned child process can build it."""

from __future__ import annotations

import time
from collections.abc import Sequence

from convoscope.annotate import Annotation, ProjectContext, ThreadText


class SlowAnalyzer:
    name = "slow"
    version = "1"

    def analyze_batch(
        self, threads: Sequence[ThreadText], context: ProjectContext
    ) -> list[Annotation]:
        time.sleep(60)
        raise TimeoutError(f"{len(threads)} threads took a minute; a stop cuts this short")


def make_slow_analyzer() -> SlowAnalyzer:
    return SlowAnalyzer()
