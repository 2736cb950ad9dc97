"""One offline analyzer for the whole annotate test package: loading it takes a second."""

from __future__ import annotations

import pytest

from convoscope.annotate.analyzers.offline import OfflineAnalyzer


@pytest.fixture(scope="session")
def shared_analyzer() -> OfflineAnalyzer:
    return OfflineAnalyzer()
