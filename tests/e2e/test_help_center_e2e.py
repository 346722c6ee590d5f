"""The help center as a new user tries it on the local stack: an agent writes an article with an image, an admin
publishes it, it is at /help/ for a plain HTTP GET (no JavaScript), in the widget's suggestions for a word of it,
a draft never appears, a <script> in the Markdown is text, and the report shows its views and a search that found
nothing."""

from __future__ import annotations

import json
import urllib.parse
import uuid

import requests

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_the_help_center_walkthrough(local_stack):
    s = local_stack
    word = "quokka" + uuid.uuid4().hex[:6]  # a word only this test's article has
    slug = f"returns-{uuid.uuid4().hex[:8]}"
    r = s.api("POST", "/api/articles", {"title": f"Returning a {word}", "slug": slug, "category": "Orders",
                                        "body": "Pack it well.\n\n<script>alert('pwned')</script>"})
    assert r.status == 201, r.body
    article = r.json()
    # the image: a presigned POST straight to the (local) bucket, as the agents' app does it
    grant = s.api("POST", f"/api/articles/{article['id']}/images",
                  {"filename": "label.png", "content_type": "image/png", "size": len(PNG)}).json()
    posted = requests.post(grant["url"], data=grant["fields"], files={"file": ("label.png", PNG, "image/png")},
                           timeout=10)
    assert posted.status_code in (200, 204), posted.text
    body = f"Pack it well.\n\n{grant['markdown']}\n\n<script>alert('pwned')</script>"
    assert s.api("PATCH", f"/api/articles/{article['id']}", {"body": body}).status == 200
    draft_slug = f"draft-{uuid.uuid4().hex[:8]}"
    s.api("POST", "/api/articles", {"title": f"Unreleased {word} plans", "slug": draft_slug, "body": word})
    assert s.api("PATCH", f"/api/articles/{article['id']}", {"status": "published"}).status == 403
    assert s.api("PATCH", f"/api/articles/{article['id']}", {"status": "published"}, role="admin").status == 200

    page = s.wait_for(lambda: (r := s.request("GET", f"/help/en/{slug}")).status == 200 and r, 30)
    assert page, "the article never appeared at /help/"
    html = page.body.decode()
    assert f"Returning a {word}" in html and "Pack it well." in html
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in html or "&lt;script&gt;" in html
    assert "<script>alert" not in html
    image = s.request("GET", grant["path"])
    assert image.status == 200 and image.body == PNG
    index = s.request("GET", "/help/en/")
    assert index.status == 200 and f"/help/en/{slug}" in index.body.decode()
    assert s.request("GET", f"/help/en/{draft_slug}").status == 404
    assert f"Unreleased {word}" not in s.request("GET", "/help/en/index.json").body.decode()

    suggestions = s.request("GET", f"/webchat/articles?q={word}").json()["items"]
    assert [i["title"] for i in suggestions] == [f"Returning a {word}"]
    missing = f"where is my {uuid.uuid4().hex[:6]}"
    assert s.request("GET", "/webchat/articles?" + urllib.parse.urlencode({"q": missing})).json()["items"] == []
    assert s.request("POST", "/help/views", {"article": article["id"], "source": "widget"}).status == 204
    assert s.request("POST", "/help/feedback", {"article": article["id"], "helpful": True}).status == 200
    report = s.api("GET", "/api/reports/articles").json()
    row = next(i for i in report["items"] if i["id"] == article["id"])
    assert row["views"] == 1 and row["helpful"] == 1 and row["widget_opens"] == 1
    assert any(f["q"] == missing for f in report["failed_searches"])
    assert json.loads(s.request("GET", "/help/en/index.json").body)["locale"] == "en"
