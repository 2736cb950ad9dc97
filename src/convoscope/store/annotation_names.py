"""The annotation fields of a semantic thread: wire name -> column, the one map of them.

Kept apart from the tables so the analyzer's child process (``annotate/model.py``) reads
it without loading SQLAlchemy. ``verified_fields`` holds wire names, which is why the
store keeps the map.
"""

from __future__ import annotations

# The annotation fields a person may verify, and analyzers fill.
WIRE_TO_COLUMN = {
    "isOnTopic": "is_on_topic",
    "isClear": "is_clear",
    "isDocumented": "is_documented",
    "isFeatureSupported": "is_feature_supported",
    "isAnswerConfident": "is_answer_confident",
    "gapSummary": "gap_summary",
    "subject": "subject",
    "category": "category",
    "languages": "languages",
    "firstPartyEntities": "first_party_entities",
    "thirdPartyEntities": "third_party_entities",
    "emotion": "emotion",
    "sentiment": "sentiment",
    "questionType": "question_type",
}
