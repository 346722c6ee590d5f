"""Channel webhooks: one function per channel (CHANNEL), one code path."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from switchboard import observability
from switchboard.errors import NotFound, SwitchboardError
from switchboard.lambda_events import error_response, http_response, webhook_request
from switchboard.services import ingest
from switchboard.settings import get_settings

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event, context):
    # The route names the channel; a function bound to one channel (CHANNEL) serves that one only.
    # /webhooks/<channel>, or /webhooks/<channel>/<callback> (issue 17: /webhooks/voice/recording).
    parts = event.get("rawPath", "").strip("/").split("/")
    channel = parts[1] if len(parts) > 1 and parts[0] == "webhooks" else parts[-1]
    try:
        if get_settings().channel not in ("", channel):
            raise NotFound("no such webhook")
        reply, counts = ingest.handle(channel, webhook_request(event))
    except SwitchboardError as exc:
        log = logger.warning if exc.status >= 500 else logger.info
        log("webhook refused", extra={"channel": channel, "status": exc.status, "code": exc.code})
        return error_response(exc)
    logger.info("webhook accepted", extra={"channel": channel, **counts})
    return http_response(reply.status, reply.body, reply.content_type)
