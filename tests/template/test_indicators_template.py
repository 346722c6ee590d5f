"""Indicators customers see (issue 15): the WebSocket function reads the send tokens of the channels with
indicators, and nothing more than it did besides the conversation's two markers."""

from __future__ import annotations

from tests.template.helpers import allowed, functions, statements, text

FUNCTION = "WebSocketFunction"
SSM_PREFIX = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
TOKENS = {"WHATSAPP_ACCESS_TOKEN_PARAM": "/switchboard/${Stage}/whatsapp/access-token",
          "MESSENGER_PAGE_TOKEN_PARAM": "/switchboard/${Stage}/messenger/page-token",
          "INSTAGRAM_ACCESS_TOKEN_PARAM": "/switchboard/${Stage}/instagram/access-token",
          "TELEGRAM_BOT_TOKEN_PARAM": "/switchboard/${Stage}/telegram/bot-token"}


def test_the_websocket_function_names_and_reads_exactly_the_indicator_channels_send_tokens():
    variables = functions()[FUNCTION]["Environment"]["Variables"]
    assert {k: text(variables[k]) for k in TOKENS} == TOKENS
    readable = {r.removeprefix(SSM_PREFIX) for r in allowed(FUNCTION, "ssm:GetParameter")}
    assert readable == {*TOKENS.values(), "/switchboard/${Stage}/webchat/token-secret"}  # no SMS, no webhook secret


def test_the_websocket_function_updates_items_but_never_scans_or_writes_in_bulk():
    actions = {a for st in statements(FUNCTION) for a in st.actions if a.startswith("dynamodb:")}
    assert actions == {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
                       "dynamodb:DeleteItem"}
    assert allowed(FUNCTION, "dynamodb:UpdateItem") == ["${Table.Arn}"]
