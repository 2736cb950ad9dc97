"""Annotation of semantic threads: the data types and the analyzer protocol.

The offline analyzer lives in `convoscope.annotate.analyzers.offline` (it loads a model,
so it is not imported here); see README.md in this package for what each field is derived
from and how accurate it is.
"""

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

__all__ = [
    "EMOTIONS",
    "QUESTION_TYPES",
    "SENTIMENTS",
    "Analyzer",
    "Annotation",
    "CategoryModel",
    "Emotion",
    "ProjectContext",
    "QuestionType",
    "Sentiment",
    "ThreadText",
]
