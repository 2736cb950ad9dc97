"""`isOnTopic`: whether the question is about the project's product and its technical domain.

False when the assistant declined the request as out of scope ("I can only help with
questions about Quill"), or when the question asks for something unrelated (a poem, the
weather, a recipe) without naming the product. Greetings and thanks inside a support
conversation count as on topic.
"""

from __future__ import annotations

from convoscope.annotate.analyzers.grounding import SCOPE_REFUSAL
from convoscope.annotate.analyzers.question_types import OFF_TOPIC


def is_question_on_topic(question: str, answer: str, *, names_product: bool) -> bool:
    if SCOPE_REFUSAL.search(answer):
        return False
    return names_product or not OFF_TOPIC.search(question)
