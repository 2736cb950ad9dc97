"""``/convoscope/semantic-threads/{id}/verify``: a person corrects annotations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from convoscope.api.deps import Db, ReadKey
from convoscope.api.responses import JSONResponse, documented
from convoscope.api.wire import verification_in, verified_thread_to_wire
from convoscope.schemas import ThreadVerification, VerifiedThread
from convoscope.store import annotations as store

router = APIRouter(tags=["convoscope"])


@router.post(
    "/convoscope/semantic-threads/{id:path}/verify",
    operation_id="verifySemanticThread",
    summary="Correct a semantic thread's annotations by hand",
    responses=documented(VerifiedThread, not_found=True),
)
async def verify_thread(
    id: str, body: Annotated[ThreadVerification, Body()], db: Db, caller: ReadKey
) -> JSONResponse:
    """Store the fields sent as verified; re-annotation leaves them as they are."""
    values = verification_in(body)
    project_id = caller.scope.project_id
    result = await db.write(lambda conn: store.verify_fields(conn, project_id, id, values))
    return JSONResponse(verified_thread_to_wire(result))
