"""What the LLM is asked to return, and the checks its reply must pass.

One request carries several threads; the reply is ``{"threads": [{"index": 0, ...}, ...]}``
with one item per thread, keyed by the thread's index in the request. Every item is
validated on its own (`parse_reply`), so one bad item costs one thread, not the request.
The JSON schema sent as ``response_format`` (`reply_schema`) and the pydantic model used to
validate (`ThreadReply`) describe the same shape; validation is stricter than the schema
(word and length limits, ISO 639-1 codes) because not every server enforces a schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from convoscope.annotate.model import (
    EMOTIONS,
    QUESTION_TYPES,
    SENTIMENTS,
    Emotion,
    QuestionType,
    Sentiment,
)
from convoscope.validation import problems_of, summary

SCHEMA_NAME = "semantic_threads"
MAX_SUBJECT_WORDS = 8
MAX_SUBJECT_CHARS = 100
MAX_GAP_SUMMARY_CHARS = 300
MAX_ENTITY_CHARS = 100
MAX_LIST_ITEMS = 20

# ISO 639-1, the codes the offline language detector reports too ("bh" is withdrawn from the
# standard but still emitted by some detectors).
ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho
    hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv
    kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr
    nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq
    sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh
    yi yo za zh zu""".split()
)
# Programming languages as the offline analyzer names them: "python", "c++", "objective-c".
_PROGRAMMING_LANGUAGE = re.compile(r"[a-z][a-z0-9+#.\-]{0,30}")


def _language_code(value: str) -> str:
    code = value.strip().lower()
    if code not in ISO_639_1:
        raise ValueError(f"not an ISO 639-1 language code: {value!r}")
    return code


def _programming_language(value: str) -> str:
    name = value.strip().lower()
    if not _PROGRAMMING_LANGUAGE.fullmatch(name):
        raise ValueError(f"not a programming language name: {value!r}")
    return name


def _subject(value: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise ValueError("subject is empty")
    if len(text.split(" ")) > MAX_SUBJECT_WORDS:
        raise ValueError(f"subject has more than {MAX_SUBJECT_WORDS} words")
    return text


def _name(value: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise ValueError("empty name")
    return text


Subject = Annotated[str, Field(max_length=MAX_SUBJECT_CHARS), AfterValidator(_subject)]
LanguageCode = Annotated[str, AfterValidator(_language_code)]
ProgrammingLanguage = Annotated[str, AfterValidator(_programming_language)]
EntityName = Annotated[str, Field(max_length=MAX_ENTITY_CHARS), AfterValidator(_name)]


class ThreadReply(BaseModel):
    """One thread's item in the LLM's reply, after validation.

    Strict: a boolean must be a JSON boolean and an enum value must be spelled exactly as in
    `convoscope.annotate.model`; unknown keys are dropped. `category` is checked later against
    the project's category names, because a bad category costs only that field.
    """

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    index: int = Field(ge=0)
    subject: Subject
    category: str | None = None
    question_type: QuestionType = Field(alias="questionType")
    languages: list[LanguageCode] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    programming_languages: list[ProgrammingLanguage] = Field(
        default_factory=list, alias="programmingLanguages", max_length=MAX_LIST_ITEMS
    )
    sentiment: Sentiment
    emotion: Emotion
    first_party_entities: list[EntityName] = Field(
        alias="firstPartyEntities", max_length=MAX_LIST_ITEMS
    )
    third_party_entities: list[EntityName] = Field(
        alias="thirdPartyEntities", max_length=MAX_LIST_ITEMS
    )
    is_on_topic: bool = Field(alias="isOnTopic")
    is_clear: bool = Field(alias="isClear")
    is_documented: bool = Field(alias="isDocumented")
    is_feature_supported: bool = Field(alias="isFeatureSupported")
    is_answer_confident: bool = Field(alias="isAnswerConfident")
    gap_summary: str | None = Field(alias="gapSummary", max_length=MAX_GAP_SUMMARY_CHARS)


def reply_schema(category_names: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of a reply, in the subset OpenAI's strict structured outputs accept.

    Strict mode wants every property required and `additionalProperties: false`; limits it
    may not support (word counts, lengths) are left to `parse_reply`. `category` is offered
    only when the project has categories, restricted to their names.
    """
    strings = {"type": "array", "items": {"type": "string"}}
    boolean = {"type": "boolean"}
    item: dict[str, Any] = {
        "index": {"type": "integer"},
        "subject": {"type": "string"},
        "questionType": {"type": "string", "enum": list(QUESTION_TYPES)},
        "languages": strings,
        "programmingLanguages": strings,
        "sentiment": {"type": "string", "enum": list(SENTIMENTS)},
        "emotion": {"type": "string", "enum": list(EMOTIONS)},
        "firstPartyEntities": strings,
        "thirdPartyEntities": strings,
        "isOnTopic": boolean,
        "isClear": boolean,
        "isDocumented": boolean,
        "isFeatureSupported": boolean,
        "isAnswerConfident": boolean,
        "gapSummary": {"type": ["string", "null"]},
    }
    if category_names:
        item["category"] = {"type": ["string", "null"], "enum": [*category_names, None]}
    return {
        "type": "object",
        "properties": {
            "threads": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": item,
                    "required": list(item),
                    "additionalProperties": False,
                },
            }
        },
        "required": ["threads"],
        "additionalProperties": False,
    }


def first_json_value(text: str) -> Any:
    """The first JSON object or array in `text`, skipping prose and code fences around it.

    Raises ValueError when there is none.
    """
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[{\[]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        return value
    raise ValueError("the reply contains no JSON object")


def parse_reply(text: str, count: int) -> tuple[dict[int, ThreadReply], list[str]]:
    """Valid items of a reply about `count` threads, by index, and why the others failed.

    A thread whose item is missing, invalid or out of range is simply absent from the
    result. A reply that is not JSON at all yields no items.
    """
    try:
        value = first_json_value(text)
    except ValueError as err:
        return {}, [str(err)]
    if isinstance(value, dict) and isinstance(value.get("threads"), list):
        items: list[Any] = value["threads"]
    elif isinstance(value, list):
        items = value
    elif isinstance(value, dict) and count == 1:
        # A lone object for a one-thread request: models without a schema often drop the
        # wrapper, and there is only one thread it can be about.
        items = [{"index": 0, **value}]
    else:
        return {}, ["the reply has no threads array"]
    valid: dict[int, ThreadReply] = {}
    problems: list[str] = []
    for position, raw in enumerate(items):
        try:
            item = ThreadReply.model_validate(raw)
        except ValidationError as err:
            problems.append(f"item {position}: {summary(problems_of(err.errors(), raw))}")
            continue
        if item.index >= count:
            problems.append(f"item {position}: index {item.index} is out of range")
        elif item.index in valid:
            problems.append(f"item {position}: index {item.index} appears twice")
        else:
            valid[item.index] = item
    return valid, problems
