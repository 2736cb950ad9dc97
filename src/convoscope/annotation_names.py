"""The annotation fields of a semantic thread: wire name -> column, the one map of them.

On the ground, below every part that needs it and free of any import: the wire layer
(``api/wire.py``) and the import and export files translate with it, and the analyzer's
child process (``annotate/model.py``) reads it without loading SQLAlchemy. The store
speaks the column names only (``verified_fields`` holds them, migration 0014); the
attributes of ``annotate.Annotation`` are named as the columns.
"""

from __future__ import annotations

# The annotation fields a person may verify, and analyzers fill, in the API's order.
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
COLUMN_TO_WIRE = {column: wire for wire, column in WIRE_TO_COLUMN.items()}
