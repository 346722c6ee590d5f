"""The website chat widget's API: sessions, and the visitor's own messages (visitor token, not Cognito)."""

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from switchboard import observability
from switchboard.channels.webchat import read_token
from switchboard.errors import BadRequest, NotFound, SwitchboardError
from switchboard.http_input import JSON_TYPES, check_body_headers, load_json
from switchboard.lambda_events import error_response, http_response, source_ip, webhook_request
from switchboard.services import webchat

logger = Logger()


def _json(request):
    check_body_headers(request.headers, accept=JSON_TYPES)  # compressed, not UTF-8 or not JSON: 4xx
    body = load_json(request.body or b"{}", code="bad_json")  # bounded: deep nesting is a 400, never a crash
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object", code="bad_json")
    return body


@observability.traced
@observability.flush
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event, context):
    try:
        request, address = webhook_request(event), source_ip(event)
        route = f"{request.method} {request.path.rstrip('/')}"
        if route == "POST /webchat/sessions":
            body = _json(request)
            return http_response(201, json.dumps(webchat.start_session(request.header("origin"), body, address)))
        visitor = read_token(request.header("authorization"))
        if route == "POST /webchat/messages":
            result = webchat.post_message(visitor, _json(request), address)
            return http_response(200 if result["duplicate"] else 201, json.dumps(result))
        if route == "GET /webchat/messages":
            return http_response(200, json.dumps(webchat.list_messages(visitor, request.query.get("cursor"))))
        if route == "POST /webchat/uploads":  # rich replies: an S3 presigned POST; the file never comes here
            return http_response(201, json.dumps(webchat.create_upload(visitor, _json(request))))
        raise NotFound("no such route")
    except SwitchboardError as exc:
        logger.info("webchat refused", extra={"status": exc.status, "code": exc.code})
        return error_response(exc)
