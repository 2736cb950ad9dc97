"""The error body every failure is sent with (API.md §1.5)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LegacyError(BaseModel):
    code: str
    message: str


class FieldProblem(BaseModel):
    field: str = Field(description="Where the problem is, e.g. messages[2].role.")
    message: str


class Problem(BaseModel):
    """``application/problem+json``, with the legacy ``error`` block the SDK requires."""

    title: str
    status: int
    detail: str
    instance: str | None = None
    requestId: str | None = None
    code: str
    error: LegacyError
    field: str | None = Field(None, description="The request field at fault, when one is.")
    errors: list[FieldProblem] | None = Field(
        None, description="Every field problem found, when the body failed validation."
    )
