"""Rich replies: an upload for a reply's file. The answer is an S3 presigned POST: the browser posts the file to the
media bucket itself, so the file's bytes never reach this function."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.api.schemas import UploadIn, UploadOut
from switchboard.services import uploads
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


@router.post("/api/uploads", summary="An upload for a reply's file (an S3 presigned POST)",
             responses={201: {"description": "post `fields` and `file` to `url`",
                              "content": {"application/json": {"model": UploadOut}}}})
def create_upload(body: UploadIn) -> Response[UploadOut]:
    grant = uploads.grant_for_conversation(Table(), body.conversation_id, body.filename, body.content_type, body.size)
    return Response(status_code=201, content_type="application/json",
                    body=UploadOut(upload_id=grant.upload_id, url=grant.url, fields=grant.fields))
