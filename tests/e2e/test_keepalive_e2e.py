"""The local stack's HTTP front on a keep-alive connection: a 204 carries no body, so the next response on the same
connection reads as itself (a stray body used to be read as the start of it)."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit


def test_delete_answering_204_then_another_request_on_the_same_connection(local_stack):
    s = local_stack
    url = urlsplit(s.base)
    headers = {"Authorization": f"Bearer {s.token('agent')}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("POST", "/api/canned-responses", json.dumps({"shortcut": "ka-e2e", "text": "x"}), headers)
        created = connection.getresponse()
        assert created.status == 201
        canned_id = json.loads(created.read())["id"]
        connection.request("DELETE", f"/api/canned-responses/{canned_id}", headers=headers)
        deleted = connection.getresponse()
        assert deleted.status == 204 and deleted.read() == b""
        assert deleted.getheader("Content-Length") in (None, "0") and deleted.getheader("Content-Type") is None
        connection.request("GET", "/api/canned-responses", headers=headers)  # the same socket
        listed = connection.getresponse()
        assert listed.status == 200
        assert canned_id not in [c["id"] for c in json.loads(listed.read())["items"]]
        connection.request("HEAD", "/api/health")
        head = connection.getresponse()
        assert head.read() == b""
        connection.request("GET", "/api/health")
        assert json.loads(connection.getresponse().read()) == {"status": "ok"}
    finally:
        connection.close()
