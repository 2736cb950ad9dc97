"""The field and order-by enums are exactly those of the SDK (API.md Appendix A)."""

from __future__ import annotations

from convoscope.query import RESOURCES
from convoscope.query.fields import order_by_names


def test_field_enums_match_the_sdk() -> None:
    assert {name: list(r.fields) for name, r in RESOURCES.items()} == {
        "conversations": [
            "id", "userMessageCount", "organizationId", "projectId", "integrationId",
            "firstMessageTime", "type", "properties", "userProperties",
        ],
        "events": [
            "id", "organizationId", "messageId", "conversationId", "createdAt", "projectId",
            "integrationId", "eventType", "type", "searchQuery", "properties", "userProperties",
        ],
        "feedback": [
            "id", "type", "messageId", "createdAt", "updatedAt", "organizationId", "reasons",
            "sources", "details", "properties", "userProperties", "conversationId", "projectId",
            "integrationId",
        ],
        "semantic-threads": [
            "id", "messageIds", "messagesCount", "organizationId", "question", "questionLength",
            "answer", "isOnTopic", "isClear", "isDocumented", "isFeatureSupported",
            "isAnswerConfident", "gapSummary", "subject", "category", "languages",
            "firstPartyEntities", "thirdPartyEntities", "emotion", "sentiment", "questionType",
            "projectId", "integrationId", "properties", "userProperties", "firstMessageTime",
            "lastMessageTime", "lastUpdated", "hasPositiveFeedback", "hasNegativeFeedback",
            "conversationIds", "areAIAnnotationsVerified", "isInitialQuestionAnswer",
        ],
    }  # fmt: skip


def test_order_by_enums_have_the_sdk_sizes_and_order() -> None:
    sizes = {name: len(order_by_names(r)) for name, r in RESOURCES.items()}
    assert sizes == {"conversations": 90, "events": 120, "feedback": 140, "semantic-threads": 330}
    names = order_by_names(RESOURCES["conversations"])
    assert names[9:12] == ["id_hour", "id_day", "id_week"]
    assert names[45:48] == ["sum_id", "sum_userMessageCount", "sum_organizationId"]
    assert "countDistinct_id" not in names
