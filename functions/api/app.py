"""The agent API (behind the HTTP API's JWT authorizer)."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from switchboard import observability

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event, context):
    # The resolver (Powertools' event handler), its routes and their pydantic schemas load with the first request.
    from switchboard.api.app import resolve

    return resolve(event, context)
