"""The analyzers the server can run, built from the environment.

Module-level functions, so that a child process can be handed one by reference.
"""

from __future__ import annotations

import os

from convoscope.annotate.analyzers.llm import LLMAnalyzer, LLMSettings
from convoscope.annotate.analyzers.offline import OfflineAnalyzer
from convoscope.annotate.model import Analyzer


def configured_analyzer() -> Analyzer:
    """The LLM analyzer when ``CONVOSCOPE_LLM_BASE_URL`` is set, else the offline one."""
    settings = LLMSettings.from_env(os.environ)
    if settings is None:
        return OfflineAnalyzer()
    return LLMAnalyzer(OfflineAnalyzer(), settings)
