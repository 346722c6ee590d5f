"""The live workspace (issue 15) without AWS: the push publisher never fails its caller and forgets gone
connections; mentions are parsed; an agent's token is verified as the JWT authorizer verifies it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from switchboard.errors import ServiceUnavailable, Unauthorized
from switchboard.models import Conversation, Message
from switchboard.services import live, notifications, push, websocket


class FakeTable:
    """Just what the publisher reads and deletes."""

    def __init__(self, connections: list[dict[str, Any]], fail: bool = False):
        self.items = connections
        self.deleted: list[dict[str, str]] = []
        self.fail = fail

    def query_all(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        if self.fail:
            raise ServiceUnavailable("DynamoDB failed")
        return self.items

    def get(self, key: dict[str, str], consistent: bool = False) -> dict[str, Any] | None:
        return None

    def delete(self, key: dict[str, str], **kwargs: Any) -> None:
        self.deleted.append(key)

    def batch_delete(self, keys: list[dict[str, str]]) -> int:
        if self.fail:
            raise ServiceUnavailable("DynamoDB failed")
        self.deleted += keys
        return len(keys)


class FakeClient:
    class exceptions:
        class GoneException(Exception):
            pass

    def __init__(self, gone: set[str], broken: set[str]):
        self.gone, self.broken, self.posted = gone, broken, []

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> None:
        if ConnectionId in self.gone:
            raise self.exceptions.GoneException()
        if ConnectionId in self.broken:
            raise TimeoutError("read timeout")
        self.posted.append((ConnectionId, Data))

    def delete_connection(self, ConnectionId: str) -> None:
        if ConnectionId in self.gone:
            raise self.exceptions.GoneException()
        if ConnectionId in self.broken:
            raise TimeoutError("read timeout")
        self.posted.append((ConnectionId, b"<closed>"))


def connection(cid: str, agent: str = "ann@example.com") -> dict[str, Any]:
    return {"pk": "WSCONN#AGENTS", "sk": cid, "connection_id": cid, "agent": agent, "expires_at": int(time.time()) + 60}


def conversation(channel: str = "whatsapp", recipient: str = "15551234567") -> Conversation:
    return Conversation.model_validate({"id": "cv_1", "channel": channel, "contact_id": "ct_1", "status": "open",
                                        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                                        "recipient": recipient, "inbox_id": "ib_1"})


def message(direction: str = "inbound") -> Message:
    return Message(id="m_1", conversation_id="cv_1", direction=direction, channel="whatsapp",  # type: ignore[arg-type]
                   created_at="2026-01-01T00:00:00Z", status="received" if direction == "inbound" else "queued",
                   text="secret words")


@pytest.fixture
def client(settings_env, monkeypatch):
    settings_env(WEBSOCKET_MANAGEMENT_URL="https://ws.example/prod")
    fake = FakeClient(gone={"c_gone"}, broken={"c_broken"})
    monkeypatch.setattr(push, "_client", lambda: fake)
    return fake


def test_every_connection_gets_the_event_gone_ones_are_forgotten_broken_ones_counted(client):
    table = FakeTable([connection("c_ok"), connection("c_gone"), connection("c_broken"), connection("c_bob", "bob@x")])
    push.message_created(table, conversation(), message())  # type: ignore[arg-type]
    assert sorted(c for c, _ in client.posted) == ["c_bob", "c_ok"]
    assert all(b"secret words" not in data for _, data in client.posted)  # ids only: text is read through the API
    assert {"pk": "WSCONN#AGENTS", "sk": "c_gone"} in table.deleted
    assert not [k for k in table.deleted if k.get("sk") in ("c_ok", "c_broken")]


def test_a_notification_goes_to_its_agent_only(client):
    table = FakeTable([connection("c_ann"), connection("c_bob", "bob@example.com")])
    push.to_agent(table, "Bob@Example.com", {"type": "notification"})  # type: ignore[arg-type]
    assert [c for c, _ in client.posted] == ["c_bob"]


def test_a_visitor_hears_only_agent_replies_in_their_own_web_chat(client):
    table = FakeTable([])
    seen: list[str] = []
    table.query_all = lambda cond, vals, **kw: (seen.append(vals[":pk"]), [])[1]  # type: ignore[method-assign]
    push.message_created(table, conversation("webchat", "v_abc"), message("outbound"))  # type: ignore[arg-type]
    assert seen == ["WSCONN#AGENTS", "WSCONN#VISITOR#v_abc"]
    seen.clear()
    push.message_created(table, conversation("webchat", "v_abc"), message("inbound"))  # type: ignore[arg-type]
    assert seen == ["WSCONN#AGENTS"]  # the visitor's own message is not sent back to them


def test_a_failing_store_or_api_never_fails_the_caller(client, monkeypatch):
    push.message_created(FakeTable([], fail=True), conversation(), message())  # type: ignore[arg-type]
    monkeypatch.setattr(push, "_client", lambda: 1 / 0)
    push.conversation_updated(FakeTable([connection("c_ok")]), conversation(), "status")  # type: ignore[arg-type]


def test_without_a_websocket_api_nothing_is_read(settings_env):
    settings_env(WEBSOCKET_MANAGEMENT_URL="")
    push.message_created(FakeTable([], fail=True), conversation(), message())  # type: ignore[arg-type]


def test_disconnecting_visitors_forgets_every_connection_then_closes_each_a_failed_close_is_only_counted(client):
    listed = [{"pk": "WSCONN#VISITOR#v_1", "sk": c, "connection_id": c, "expires_at": 1}  # expired ones too
              for c in ("c_ok", "c_gone", "c_broken")]
    table = FakeTable(listed)
    assert push.disconnect_visitors(table, ["v_1", "v_1"]) == 3  # type: ignore[arg-type]
    assert {"pk": "WSCONN#VISITOR#v_1", "sk": "c_broken"} in table.deleted
    assert {"pk": "WSCONN#c_gone", "sk": "WSCONN"} in table.deleted and len(table.deleted) == 6
    assert client.posted == [("c_ok", b"<closed>")]


def test_disconnecting_visitors_raises_when_the_store_fails_so_the_erasure_is_retried(client):
    with pytest.raises(ServiceUnavailable):
        push.disconnect_visitors(FakeTable([], fail=True), ["v_1"])  # type: ignore[arg-type]
    assert client.posted == []


def test_the_visitors_a_web_chat_conversation_names():
    from switchboard.services import webchat

    items = [{"pk": "CONV#cv_1", "sk": "META", "channel": "webchat", "recipient": "v_new"},
             {"pk": "CONV#cv_1", "sk": "MSG#1", "channel": "webchat", "direction": "inbound",
              "provider_message_id": "v_old:c-0000001"},
             {"pk": "CONV#cv_1", "sk": "MSG#2", "channel": "webchat", "direction": "inbound",
              "provider_message_id": "v_new:c-0000002"},
             {"pk": "CONV#cv_1", "sk": "MSG#3", "channel": "webchat", "direction": "outbound",
              "provider_message_id": "x:y"}]
    assert webchat.visitors_in(items) == ["v_new", "v_old"]
    assert webchat.visitors_in([{**items[0], "channel": "whatsapp"}]) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("@ann please look", {"ann.lee@example.com"}),
    ("ping @Bob@Example.com.", {"bob@example.com"}),
    ("mail me at ann@example.com", set()),  # an address in the text is no mention
    ("@nobody @", set()),
    ("@ann.lee and @cy", {"ann.lee@example.com", "cy@shop.test"}),
])
def test_mentions(text, expected):
    known = {"ann.lee@example.com", "bob@example.com", "cy@shop.test"}
    assert notifications.mentioned(text, known) == expected


def test_notification_ids_are_stable_and_time_ordered():
    a = notifications.notification_id("2026-01-01T00:00:00Z", "mention", "ann", "m_1")
    assert a == notifications.notification_id("2026-01-01T00:00:00Z", "mention", "ann", "m_1")
    assert a < notifications.notification_id("2026-01-01T00:00:01Z", "mention", "ann", "m_0")
    import re

    assert re.match(notifications.ID_PATTERN, a)


# -- $connect: an agent's Cognito ID token --------------------------------------------------------------------------
@pytest.fixture
def pool(settings_env, monkeypatch):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    settings_env(COGNITO_USER_POOL_ID="us-east-1_pool", COGNITO_CLIENT_ID="client1", AWS_REGION="us-east-1")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"

    class Keys:
        def get_signing_key_from_jwt(self, token: str) -> Any:
            return jwt.PyJWK.from_dict({**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True),
                                        "alg": "RS256"})

    monkeypatch.setattr(websocket, "_jwks", lambda url: Keys())

    def token(**claims: Any) -> str:
        now = int(time.time())
        body = {"iss": issuer, "aud": "client1", "email": "ann@example.com", "token_use": "id", "exp": now + 600,
                "iat": now, **claims}
        return jwt.encode(body, key, algorithm="RS256")

    return token


def test_a_valid_id_token_is_accepted(pool):
    assert websocket.verify_agent(pool())["email"] == "ann@example.com"


@pytest.mark.parametrize("claims", [{"exp": 1}, {"aud": "other"}, {"iss": "https://evil"}, {"token_use": "access"}])
def test_an_expired_foreign_or_access_token_is_refused(pool, claims):
    with pytest.raises(Unauthorized):
        websocket.verify_agent(pool(**claims))


def test_a_forged_token_is_refused(pool):
    header, body, _ = pool().split(".")
    with pytest.raises(Unauthorized):
        websocket.verify_agent(f"{header}.{body}.AAAA")


def test_a_deployed_connect_ignores_an_authorizer_context_it_did_not_verify(pool):
    forged = {"jwt": {"claims": {"email": "admin@example.com"}}}
    with pytest.raises(Unauthorized):
        websocket._agent_claims("not-a-token", forged)


def test_stored_files_reach_the_agents_and_the_web_chat_visitor_whose_message_it_is(client):
    table = FakeTable([])
    seen: list[str] = []
    table.query_all = lambda cond, vals, **kw: (seen.append(vals[":pk"]), [])[1]  # type: ignore[method-assign]
    live.files_stored(table, conversation("webchat", "v_abc"), message("inbound"), 0)  # type: ignore[arg-type]
    assert seen == []  # nothing was stored: nothing to say
    live.files_stored(table, conversation("webchat", "v_abc"), message("inbound"), 2)  # type: ignore[arg-type]
    assert seen == ["WSCONN#AGENTS", "WSCONN#VISITOR#v_abc"]
    seen.clear()
    live.files_stored(table, conversation(), message("inbound"), 1)  # type: ignore[arg-type]
    assert seen == ["WSCONN#AGENTS"]
