"""The website chat widget's API: sessions, and the visitor's own messages (visitor token, not Cognito)."""

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from switchboard import observability
from switchboard.channels.webchat import read_token
from switchboard.errors import BadRequest, NotFound, SwitchboardError
from switchboard.lambda_events import error_response, http_response, webhook_request
from switchboard.services import webchat

logger = Logger()


def _json(request):
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested deeper than json can read
        raise BadRequest("body is not JSON", code="bad_json") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object", code="bad_json")
    return body


@observability.traced
@observability.flush
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event, context):
    try:
        request = webhook_request(event)
        route = f"{request.method} {request.path.rstrip('/')}"
        if route == "POST /webchat/sessions":
            return http_response(201, json.dumps(webchat.start_session(request.header("origin"), _json(request))))
        visitor = read_token(request.header("authorization"))
        if route == "POST /webchat/messages":
            result = webchat.post_message(visitor, _json(request))
            return http_response(200 if result["duplicate"] else 201, json.dumps(result))
        if route == "GET /webchat/messages":
            return http_response(200, json.dumps(webchat.list_messages(visitor, request.query.get("cursor"))))
        if route == "POST /webchat/uploads":  # rich replies: an S3 presigned POST; the file never comes here
            return http_response(201, json.dumps(webchat.create_upload(visitor, _json(request))))
        raise NotFound("no such route")
    except SwitchboardError as exc:
        logger.info("webchat refused", extra={"status": exc.status, "code": exc.code})
        return error_response(exc)
