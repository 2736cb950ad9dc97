"""``/convoscope/privacy/*``: a project's data-protection settings, and forgetting a user.

Api keys only: a web key sits in a browser and must not erase or reconfigure a project.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from convoscope.api.deps import Db, ReadKey
from convoscope.api.responses import JSONResponse, documented
from convoscope.privacy import read_privacy, replace_privacy
from convoscope.privacy.forget import forget
from convoscope.schemas import ForgetRequest, Forgotten, PrivacySettings

router = APIRouter(tags=["convoscope"])


@router.get(
    "/convoscope/privacy/settings",
    operation_id="getPrivacySettings",
    summary="A project's redaction, retention and user identifiers",
    responses=documented(PrivacySettings),
)
async def get_settings(db: Db, caller: ReadKey) -> JSONResponse:
    settings = await read_privacy(db, caller.scope.project_id)
    return JSONResponse(settings.model_dump())


@router.put(
    "/convoscope/privacy/settings",
    operation_id="setPrivacySettings",
    summary="Replace a project's redaction, retention and user identifiers",
    responses=documented(PrivacySettings),
)
async def put_settings(
    body: Annotated[PrivacySettings, Body()], db: Db, caller: ReadKey
) -> JSONResponse:
    """Applies to writes from the next moment on; stored data is redacted again only by
    ``convoscope redact --apply``."""
    settings = await replace_privacy(db, caller.scope.project_id, body)
    return JSONResponse(settings.model_dump())


@router.post(
    "/convoscope/privacy/forget",
    operation_id="forgetUser",
    summary="Delete every conversation, feedback and event of one user, for good",
    responses=documented(Forgotten),
)
async def forget_user(
    body: Annotated[ForgetRequest, Body()], db: Db, caller: ReadKey
) -> JSONResponse:
    """Deletes what the user logged and everything derived from it, frees the disk space
    and leaves an audit record (when, how much, which key asked; never the user's id)."""
    result = await forget(
        db,
        caller.scope.project_id,
        body.userId,
        requested_by=f"key:{caller.key_id}",
        dry_run=body.dryRun,
    )
    erased = result.erased
    return JSONResponse(
        Forgotten(
            dryRun=result.dry_run,
            erasureId=result.erasure_id,
            conversations=erased.conversations,
            messages=erased.messages,
            feedback=erased.feedback,
            events=erased.events,
            semanticThreads=erased.threads,
        ).model_dump()
    )
