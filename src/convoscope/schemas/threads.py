"""Our own addition, outside the Inkeep paths: a person's corrections to annotations."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ThreadVerification(BaseModel):
    """Annotation fields a person checked. Each one sent is stored, marked verified, and
    never overwritten by re-annotation."""

    model_config = ConfigDict(extra="forbid")

    isOnTopic: bool | None = None
    isClear: bool | None = None
    isDocumented: bool | None = None
    isFeatureSupported: bool | None = None
    isAnswerConfident: bool | None = None
    gapSummary: str | None = Field(None, max_length=2000)
    subject: str | None = Field(None, max_length=500)
    category: str | None = Field(None, max_length=200)
    languages: list[str] | None = None
    firstPartyEntities: list[str] | None = None
    thirdPartyEntities: list[str] | None = None
    emotion: str | None = Field(None, max_length=50)
    sentiment: Literal["positive", "neutral", "negative"] | None = None
    questionType: str | None = Field(None, max_length=50)

    @model_validator(mode="after")
    def _at_least_one(self) -> ThreadVerification:
        if not self.model_fields_set:
            raise ValueError('send at least one annotation field, e.g. {"category": "billing"}')
        return self


class VerifiedThread(BaseModel):
    id: str
    areAIAnnotationsVerified: bool
    verifiedFields: list[str]
    annotatedBy: str | None
