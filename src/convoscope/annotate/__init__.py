"""Annotation of semantic threads: the data types, the analyzer protocol, the worker.

The data types load with the package: the analyzer's child process needs them and no
more. The analyzers (``OfflineAnalyzer`` loads a model), the runners and the worker (which
load the store) are imported on first use; see README.md in this package for what each
field is derived from and how accurate it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convoscope.annotate.model import (
    EMOTIONS,
    QUESTION_TYPES,
    SENTIMENTS,
    Analyzer,
    Annotation,
    CategoryModel,
    Emotion,
    ProjectContext,
    QuestionType,
    Sentiment,
    ThreadText,
)
from convoscope.lazy import lazy_exports

if TYPE_CHECKING:
    from convoscope.annotate.analyzers.llm import LLMAnalyzer
    from convoscope.annotate.analyzers.offline import OfflineAnalyzer
    from convoscope.annotate.factories import configured_analyzer
    from convoscope.annotate.pressure import WritePressure, YieldSettings
    from convoscope.annotate.runner import InProcessRunner, Sourced, SubprocessRunner
    from convoscope.annotate.worker import AnnotationWorker, WorkerSettings

__all__ = [
    "EMOTIONS",
    "QUESTION_TYPES",
    "SENTIMENTS",
    "Analyzer",
    "Annotation",
    "AnnotationWorker",
    "CategoryModel",
    "Emotion",
    "InProcessRunner",
    "LLMAnalyzer",
    "OfflineAnalyzer",
    "ProjectContext",
    "QuestionType",
    "Sentiment",
    "Sourced",
    "SubprocessRunner",
    "ThreadText",
    "WorkerSettings",
    "WritePressure",
    "YieldSettings",
    "configured_analyzer",
]

if not TYPE_CHECKING:
    __getattr__ = lazy_exports(
        __name__,
        {
            "analyzers.llm": ("LLMAnalyzer",),
            "analyzers.offline": ("OfflineAnalyzer",),
            "factories": ("configured_analyzer",),
            "pressure": ("WritePressure", "YieldSettings"),
            "runner": ("InProcessRunner", "Sourced", "SubprocessRunner"),
            "worker": ("AnnotationWorker", "WorkerSettings"),
        },
    )
