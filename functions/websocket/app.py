"""The WebSocket API's routes ($connect, $disconnect, $default): the live workspace's push connections."""

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import websocket

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    return websocket.handle(event)
