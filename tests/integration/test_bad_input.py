"""The classes of bad input issue 11 found, each closed for every route it reaches: survey ratings that are not one
ASCII digit 1 to 5, cursors of the wrong shape on every paged endpoint, JSON nested past the parser's limits on every
JSON route, bodies no handler can read (multipart without a boundary, compressed, other charsets, broken base64);
and responses without content that carry none, on a keep-alive connection to the local stack's HTTP front."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import types
from urllib.parse import quote

import pytest

from infra.local import auth
from infra.local.sandbox import Fault
from infra.local.server import serve
from switchboard import clock
from tests.support.seeds import conversation, survey_token
from tests.support.signing import meta_signature

DEEP = b"[" * 100_000
JSON = {"Content-Type": "application/json"}


def cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


BAD_RATINGS = ["²", "٣", "\uff15", "9" * 5000, "1e1", "1,2", "", " 5", "5 ", "0", "6", "-1", "%ff", "\ud800"]


def test_a_survey_rating_that_is_not_one_ascii_digit_1_to_5_is_a_400_and_records_nothing(stack, settings_env):
    settings_env(SURVEY_ADDRESS_PAGES_PER_MINUTE="1000", SURVEY_ADDRESS_POSTS_PER_MINUTE="1000")  # one address here
    conv = conversation(stack, "wamid.r.1", "15550000101")
    token = survey_token(stack, conv["id"])
    clock.advance(3600)
    for rating in BAD_RATINGS:
        page = stack.http("GET", f"/survey/{token}", query="rating=" + quote(rating, errors="surrogatepass"))
        assert page.status == 400 and "The rating must be 1 to 5." in page.body, rating
        form = stack.http("POST", f"/survey/{token}", f"rating={quote(rating, errors='surrogatepass')}".encode(),
                          {"Content-Type": "application/x-www-form-urlencoded"})
        assert form.status == 400, rating
    repeated = stack.http("GET", f"/survey/{token}", query="rating=4&rating=5")  # API Gateway joins them: "4,5"
    assert repeated.status == 400
    (record,) = [i for i in stack.items(f"CONV#{conv['id']}") if i["sk"] == "SURVEY#r1"]
    assert "rating" not in record and "provisional" not in record and "last_click" not in record


WRONG_SHAPES = [[1, 2], "text", None, {}, {"open": "x"}, {"open": 7}, {"open": {"a": "b"}},
                {"open": {"pk": {"S": "x"}, "sk": "META", "gsi1pk": "STATUS#open", "gsi1sk": "1"}},
                {"open": None, "other": None}, {"pk": "CONV#x", "sk": "MSG#1"}]


def test_a_cursor_of_the_wrong_shape_is_invalid_cursor_on_every_paged_endpoint(stack):
    conv = conversation(stack, "wamid.c.1", "15550000201")
    other = conversation(stack, "wamid.c.2", "15550000202")
    pages = [("/api/conversations", ""), ("/api/conversations", "status=open&"), ("/api/conversations", "assignee=a@x&"),
             (f"/api/conversations/{conv['id']}/messages", "")]
    index_key = {"pk": f"CONV#{conv['id']}", "sk": "META", "gsi1pk": "STATUS#resolved", "gsi1sk": "2026#x"}
    wrong = [*WRONG_SHAPES, {"open": index_key},  # another partition of the index
             {"assignee": {"pk": "CONV#x", "sk": "META", "gsi2pk": "ASSIGNEE#b@x", "gsi2sk": "1"}},
             {"open": {"pk": "CONV#x", "sk": "META", "gsi2pk": "ASSIGNEE#a@x", "gsi2sk": "1"}},  # another index
             {"pk": f"CONV#{other['id']}", "sk": "MSG#2026"},  # another conversation's messages
             {"pk": f"CONV#{conv['id']}", "sk": "META"}, {"pk": f"CONV#{conv['id']}", "sk": "MSG#" + "9" * 2000}]
    for path, query in pages:
        for shape in wrong:
            r = stack.http("GET", path, role="agent", query=f"{query}cursor={cursor(shape)}")
            assert r.status == 400 and r.json()["error"]["code"] == "invalid_cursor", (path, query, shape, r.body)
    # the visitor's own messages (web chat) page the same way
    from switchboard.channels.webchat import read_token
    from switchboard.services import webchat

    token = webchat.start_session(None, {})["token"]
    for shape in wrong:  # no conversation yet: no cursor can be one of its pages
        r = stack.http("GET", "/webchat/messages", headers={"Authorization": f"Bearer {token}"},
                       query=f"cursor={cursor(shape)}")
        assert r.status == 400 and json.loads(r.body)["error"]["code"] == "invalid_cursor", (shape, r.body)
    webchat.post_message(read_token(f"Bearer {token}"), {"client_message_id": "c-00000001", "text": "hi"})
    stack.drain("ProcessorFunction")
    for shape in wrong:
        r = stack.http("GET", "/webchat/messages", headers={"Authorization": f"Bearer {token}"},
                       query=f"cursor={cursor(shape)}")
        assert r.status == 400 and json.loads(r.body)["error"]["code"] == "invalid_cursor", (shape, r.body)


def test_cursors_the_store_issued_still_page(stack):
    for i in range(3):
        conversation(stack, f"wamid.p.{i}", f"1555000030{i}")
    seen, query = [], "limit=1"
    for _ in range(5):
        page = stack.http("GET", "/api/conversations", role="agent", query=query).json()
        seen += [c["id"] for c in page["items"]]
        if not page["next_cursor"]:
            break
        query = f"limit=1&cursor={page['next_cursor']}"
    assert len(seen) == len(set(seen)) == 3


def json_routes(stack) -> list[tuple[str, str]]:
    from switchboard.api.app import document

    conv = conversation(stack, "wamid.j.1", "15550000401")
    ids = {"{conversation_id}": conv["id"], "{contact_id}": conv["contact"]["id"], "{canned_id}": "x"}
    routes = []
    for path, item in document()["paths"].items():
        for method in item:
            if method in ("post", "put", "patch"):
                for name, value in ids.items():
                    path = path.replace(name, value)
                routes.append((method.upper(), path))
    return [*routes, ("POST", "/webchat/sessions"), ("POST", "/webchat/messages")]


def call(stack, method: str, path: str, body: bytes, headers: dict[str, str], role: str | None = "admin"):
    from switchboard.services import webchat

    headers = dict(headers)
    if path.startswith("/webchat/messages"):
        headers["Authorization"] = f"Bearer {webchat.start_session(None, {})['token']}"
    return stack.http(method, path, body, headers, role=role)


UNREADABLE = [
    (DEEP, JSON, 400, None),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, JSON, 400, None),
    (b"--x--", {"Content-Type": "multipart/form-data"}, 400, "invalid_content_type"),
    (b"--x--", {"Content-Type": "multipart/form-data; boundary="}, 400, "invalid_content_type"),
    (b"\x1f\x8b\x08garbage", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 415,
     "unsupported_encoding"),
    ('{"text": "é"}'.encode("utf-16"), {"Content-Type": "application/json; charset=utf-16"}, 415,
     "unsupported_charset"),
    (b"<p>hi</p>", {"Content-Type": "text/html"}, 415, "unsupported_media_type"),
    (b'{"text": NaN}', JSON, 400, None),
]


def test_bodies_no_handler_can_read_are_a_4xx_on_every_json_route(stack):
    routes = json_routes(stack)
    for body, headers, status, code in UNREADABLE:
        for method, path in routes:
            r = call(stack, method, path, body, headers)
            assert r.status == status, (method, path, headers, r.status, r.body)
            assert code is None or json.loads(r.body)["error"]["code"] == code, (method, path, r.body)


def test_a_body_the_gateway_says_is_base64_and_is_not_is_a_400(stack):
    from infra.local.events import http_event
    from infra.local.lambdas import match

    for method, path in json_routes(stack):
        route, params = match(stack.routes, method, path)
        claims = auth.verify(f"Bearer {auth.issue('ann@example.com', 'admin')}") if route.auth else None
        event = http_event(method, path, "", {"Content-Type": "application/json"}, b"{}", f"{route.method} {route.path}",
                           params, claims, "203.0.113.9")
        event["isBase64Encoded"], event["body"] = True, "*not base64*"
        result = stack.functions[route.function].invoke(event)
        assert 400 <= result["statusCode"] < 500, (method, path, result)


def test_a_signed_webhook_body_nested_past_what_json_reads_is_a_400(stack):
    for channel in ("whatsapp", "messenger", "instagram", "telegram"):
        signed_bodies_are_refused(stack, channel)
    assert stack.queue_count("InboundQueue") == 0


def signed_bodies_are_refused(stack, channel: str) -> None:
    for body in (DEEP, b'{"entry":' * 5000 + b"1" + b"}" * 5000):
        if channel == "telegram":
            headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "test-telegram-secret"}
        else:
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, b"test-meta-secret")}
        r = stack.http("POST", f"/webhooks/{channel}", body, headers)
        assert r.status == 400 and json.loads(r.body)["error"]["code"] == "malformed_payload", r.body
    compressed = stack.http("POST", f"/webhooks/{channel}", b"\x1f\x8b", {"Content-Encoding": "gzip"})
    assert compressed.status == 415


# -- no content, no body ------------------------------------------------------------------------------------------
def test_a_204_has_no_body_and_no_content_type(stack):
    created = stack.http("POST", "/api/canned-responses", {"shortcut": "bye", "text": "Bye!"}, role="agent").json()
    gone = stack.http("DELETE", f"/api/canned-responses/{created['id']}", role="agent")
    assert gone.status == 204 and gone.body == "" and "Content-Type" not in gone.headers


@pytest.fixture
def front(stack):
    """The local stack's HTTP front (infra/local/server.py) over the integration stack's routes and functions."""
    server = serve(types.SimpleNamespace(routes=stack.routes, functions=stack.functions, sandbox=stack.sandbox), 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield stack, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_204_then_another_request_on_one_keep_alive_connection(front):
    _, port = front
    token = {"Authorization": f"Bearer {auth.issue('ann@example.com', 'agent')}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/api/canned-responses", json.dumps({"shortcut": "ka", "text": "x"}), token)
    created = connection.getresponse()
    canned = json.loads(created.read())
    connection.request("DELETE", f"/api/canned-responses/{canned['id']}", headers=token)
    deleted = connection.getresponse()
    assert deleted.status == 204 and deleted.getheader("Content-Length") is None and deleted.read() == b""
    connection.request("GET", "/api/canned-responses", headers=token)  # the same socket: nothing left of the 204
    listed = connection.getresponse()
    assert listed.status == 200 and json.loads(listed.read())["items"] == []
    connection.request("HEAD", "/api/health")
    head = connection.getresponse()
    assert head.read() == b"" and int(head.getheader("Content-Length")) > 0  # the length a GET would have
    connection.request("GET", "/api/health")
    assert json.loads(connection.getresponse().read()) == {"status": "ok"}
    connection.close()


@pytest.mark.parametrize("status", [204, 304])
def test_the_front_never_writes_a_body_for_204_or_304_whatever_the_handler_gave(front, status):
    stack, port = front
    stack.sandbox.add_fault("whatsapp", Fault(status=status, count=1, body={"a body": "that must not be sent"}))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/_sandbox/whatsapp/v21.0/1/messages", b"{}", {"Content-Type": "application/json"})
    answer = connection.getresponse()
    assert answer.status == status and answer.read() == b"" and answer.getheader("Content-Length") is None
    connection.request("GET", "/api/health")
    assert json.loads(connection.getresponse().read()) == {"status": "ok"}
    connection.close()


def test_a_content_length_that_is_not_a_number_is_a_400_and_the_connection_closes(front):
    _, port = front
    for length in ("abc", "-5", "1e3", "١٢".encode()):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.putrequest("POST", "/api/canned-responses")
        connection.putheader("Content-Length", length)
        connection.endheaders()
        answer = connection.getresponse()
        assert answer.status == 400 and answer.getheader("Connection") == "close", length
        connection.close()


def test_a_chunked_body_is_read_whole(front):
    _, port = front
    token = {"Authorization": f"Bearer {auth.issue('ann@example.com', 'agent')}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"shortcut": "chunky", "text": "in pieces"}).encode()
    connection.request("POST", "/api/canned-responses", iter([body[:10], body[10:]]), token, encode_chunked=True)
    created = connection.getresponse()
    assert created.status == 201 and json.loads(created.read())["shortcut"] == "chunky"
    connection.request("GET", "/api/health")  # and the connection is still in step
    assert connection.getresponse().status == 200
    connection.close()
