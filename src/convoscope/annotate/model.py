"""The data an analyzer reads (`ThreadText`, `ProjectContext`) and writes (`Annotation`).

`Annotation` uses snake_case attributes; `Annotation.to_wire()` gives the camelCase
SemanticThread field names of the API (spec §4.1):

| attribute              | wire field             |
|------------------------|------------------------|
| subject                | subject                |
| category               | category               |
| question_type          | questionType           |
| languages              | languages              |
| sentiment              | sentiment              |
| emotion                | emotion                |
| first_party_entities   | firstPartyEntities     |
| third_party_entities   | thirdPartyEntities     |
| is_on_topic            | isOnTopic              |
| is_clear               | isClear                |
| is_documented          | isDocumented           |
| is_feature_supported   | isFeatureSupported     |
| is_answer_confident    | isAnswerConfident      |
| gap_summary            | gapSummary             |
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from convoscope.annotation_names import COLUMN_TO_WIRE

Sentiment = Literal["positive", "neutral", "negative"]
Emotion = Literal["neutral", "frustrated", "confused", "satisfied", "urgent"]
QuestionType = Literal["how_to", "troubleshooting", "conceptual", "feature_request", "other"]

SENTIMENTS: tuple[Sentiment, ...] = ("positive", "neutral", "negative")
EMOTIONS: tuple[Emotion, ...] = ("neutral", "frustrated", "confused", "satisfied", "urgent")
QUESTION_TYPES: tuple[QuestionType, ...] = (
    "how_to",
    "troubleshooting",
    "conceptual",
    "feature_request",
    "other",
)


@dataclass(frozen=True)
class ThreadText:
    """One semantic thread as text: a user question and the assistant answer that followed."""

    question: str
    answer: str
    link_titles: list[str] = field(default_factory=list)
    link_urls: list[str] = field(default_factory=list)
    has_negative_feedback: bool = False
    has_positive_feedback: bool = False


@dataclass(frozen=True)
class Annotation:
    """The annotation fields of a semantic thread (see the module docstring for wire names)."""

    subject: str
    category: str | None
    question_type: QuestionType
    languages: list[str]
    sentiment: Sentiment
    emotion: Emotion
    first_party_entities: list[str]
    third_party_entities: list[str]
    is_on_topic: bool
    is_clear: bool
    is_documented: bool
    is_feature_supported: bool
    is_answer_confident: bool
    gap_summary: str | None

    def to_wire(self) -> dict[str, Any]:
        """Return the fields under their SemanticThread (camelCase) names. The attributes
        are named as the columns, so the one map of the names serves."""
        return {COLUMN_TO_WIRE[f.name]: getattr(self, f.name) for f in fields(self)}

    def to_columns(self) -> dict[str, Any]:
        """Return the fields under their attribute names, which the store's columns share
        (what ``store.annotations.save_annotation`` takes)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class CategoryModel:
    """Category state of one project: a centroid, a stable id and a name per category.

    `centroids` are unit vectors in the embedding space named by `embedder`; a model made
    with another embedder cannot be used to assign new questions. `groups` holds, per
    category, the index of its coarser group in `group_names` (a grouping of our own,
    not an Inkeep field; empty in models saved before groups existed).
    """

    ids: tuple[str, ...]
    names: tuple[str, ...]
    centroids: npt.NDArray[np.float32]
    sizes: tuple[int, ...]
    embedder: str
    next_id: int
    groups: tuple[int, ...] = ()
    group_names: tuple[str, ...] = ()

    def group_name(self, index: int) -> str | None:
        """Name of the group of the category at `index`, or None without groups."""
        if index >= len(self.groups):
            return None
        return self.group_names[self.groups[index]]

    def to_json_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form, for storing the model between runs."""
        return {
            "ids": list(self.ids),
            "names": list(self.names),
            "centroids": [[round(float(x), 6) for x in row] for row in self.centroids],
            "sizes": list(self.sizes),
            "embedder": self.embedder,
            "nextId": self.next_id,
            "groups": list(self.groups),
            "groupNames": list(self.group_names),
        }

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> CategoryModel:
        """Rebuild a model saved with `to_json_dict`."""
        return cls(
            ids=tuple(data["ids"]),
            names=tuple(data["names"]),
            centroids=np.asarray(data["centroids"], dtype=np.float32),
            sizes=tuple(int(s) for s in data["sizes"]),
            embedder=str(data["embedder"]),
            next_id=int(data["nextId"]),
            groups=tuple(int(g) for g in data.get("groups", ())),
            group_names=tuple(str(n) for n in data.get("groupNames", ())),
        )


@dataclass(frozen=True)
class ProjectContext:
    """What an analyzer knows about one project.

    `glossary` holds the configured first-party terms (product, feature and API names);
    `learned_glossary` the terms learned from the titles of links the answers cite;
    `categories` the project's category model, or None before the first clustering.
    """

    glossary: tuple[str, ...] = ()
    learned_glossary: tuple[str, ...] = ()
    categories: CategoryModel | None = None

    @property
    def first_party_terms(self) -> tuple[str, ...]:
        """Configured and learned first-party terms, configured first, without duplicates."""
        seen: dict[str, str] = {}
        for term in (*self.glossary, *self.learned_glossary):
            seen.setdefault(term.casefold(), term)
        return tuple(seen.values())


class Analyzer(Protocol):
    """Fills the annotation fields of semantic threads."""

    name: str
    version: str

    def analyze_batch(
        self, threads: Sequence[ThreadText], context: ProjectContext
    ) -> list[Annotation]:
        """Annotate `threads` (all from the project described by `context`), in order."""
        ...
