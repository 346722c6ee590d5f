"""The help center on moto: articles by role, publishing to the frontend bucket (and nothing of a draft), images,
the preview, the widget's suggestions, feedback, views and chats with their rate limits, the report, canned
variables, the look from settings, and CloudFront invalidations."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import boto3
import pytest

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def api(stack, method, path, body=None, role="agent", query=""):
    return stack.http(method, path, body, role=role, query=query)


def public(stack, method, path, body=None, query="", headers=None):
    return stack.http(method, path, body, query=query, headers=headers)


def bucket(stack) -> str:
    return stack.resolver.refs["FrontendBucket"]


def files(stack) -> dict[str, bytes]:
    s3 = stack.clients["s3"]
    listed = s3.list_objects_v2(Bucket=bucket(stack), Prefix="help/").get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket(stack), Key=o["Key"])["Body"].read() for o in listed}


def write(stack, role="agent", **fields) -> dict:
    body = {"title": "How do refunds work?", "body": "Refunds take **five** days to reach your card.",
            "category": "Billing"} | fields
    r = api(stack, "POST", "/api/articles", body, role=role)
    assert r.status == 201, r.body
    return r.json()


def publish(stack, article_id: str) -> dict:
    r = api(stack, "PATCH", f"/api/articles/{article_id}", {"status": "published"}, role="admin")
    assert r.status == 200, r.body
    stack.drain("HelpPublishFunction")
    return r.json()


def test_an_agent_writes_a_draft_that_never_appears_and_an_admin_publishes_it(stack):
    draft = write(stack)
    assert draft["status"] == "draft" and draft["slug"] == "how-do-refunds-work" and draft["locale"] == "en"
    assert draft["url"] is None and draft["created_by"] == "agent@example.com"
    secret = write(stack, title="Internal pricing plan", body="The zanzibar discount is not public.", slug="pricing")
    # agents do not publish
    r = api(stack, "PATCH", f"/api/articles/{draft['id']}", {"status": "published"})
    assert r.status == 403 and r.json()["error"]["code"] == "admins_publish"
    assert api(stack, "POST", "/api/articles", {"title": "x", "status": "published"}).status == 403
    stack.drain("HelpPublishFunction")  # drafts change no page: only the (empty) help center and its assets
    assert not any(k.startswith(("help/en/how-do", "help/en/pricing")) for k in files(stack))
    assert b"zanzibar" not in b"".join(files(stack).values())
    published = publish(stack, draft["id"])
    assert published["status"] == "published"
    assert published["url"] == "https://hooks.example.com/help/en/how-do-refunds-work"
    site = files(stack)
    page = site["help/en/how-do-refunds-work"].decode()
    assert "Refunds take <strong>five</strong> days" in page and "<title>How do refunds work? · Help center</title>" in page
    assert '<meta name="description" content="Refunds take five days to reach your card.">' in page
    assert '<link rel="canonical" href="' in page and page.count("<script") == 1  # only help.js
    assert {"help/index.html", "help/en/index.html", "help/en/index.json", "help/en/categories/billing",
            "help/assets/help.css", "help/assets/help.js", "help/assets/theme.css", "help/sitemap.xml"} <= set(site)
    index = json.loads(site["help/en/index.json"])
    assert [a["title"] for a in index["articles"]] == ["How do refunds work?"]
    # the draft is nowhere: no page, not in the index, the sitemap or any listing
    everything = b"".join(site.values())
    assert b"zanzibar" not in everything and b"Internal pricing" not in everything and b"/pricing" not in everything
    assert api(stack, "GET", f"/api/articles/{secret['id']}").json()["status"] == "draft"
    # the object's type is HTML, with a short browser cache (CloudFront's lasts until invalidated)
    head = stack.clients["s3"].head_object(Bucket=bucket(stack), Key="help/en/how-do-refunds-work")
    assert head["ContentType"].startswith("text/html") and "s-maxage" in head["CacheControl"]


def test_publishing_again_writes_nothing_and_edits_wait_for_an_admin(stack):
    article = write(stack)
    publish(stack, article["id"])
    before = files(stack)
    api(stack, "POST", "/api/articles/republish", role="admin")
    stack.drain("HelpPublishFunction")
    from switchboard.services import help_publish

    assert help_publish.publish()["written"] == 0 and files(stack) == before  # idempotent
    # an agent's edit of a published article stays unseen until an admin publishes it again
    r = api(stack, "PATCH", f"/api/articles/{article['id']}", {"body": "Refunds take ten days."})
    assert r.status == 200 and r.json()["unpublished_changes"] is True and r.json()["status"] == "published"
    stack.drain("HelpPublishFunction")
    assert b"five" in files(stack)["help/en/how-do-refunds-work"]
    assert api(stack, "PATCH", f"/api/articles/{article['id']}", {"body": "x", "status": "published"}).status == 403
    publish(stack, article["id"])
    assert b"ten days" in files(stack)["help/en/how-do-refunds-work"]
    # a slug change moves the page; the old one goes
    r = api(stack, "PATCH", f"/api/articles/{article['id']}", {"slug": "refunds", "status": "published"}, role="admin")
    assert r.status == 200
    stack.drain("HelpPublishFunction")
    site = files(stack)
    assert "help/en/refunds" in site and "help/en/how-do-refunds-work" not in site


def test_unpublish_and_delete_take_pages_off_and_update_the_indexes(stack):
    a = write(stack)
    b = write(stack, title="Shipping times", body="Parcels ship in two days.", category="Shipping")
    publish(stack, a["id"])
    publish(stack, b["id"])
    assert len(json.loads(files(stack)["help/en/index.json"])["articles"]) == 2
    r = api(stack, "PATCH", f"/api/articles/{a['id']}", {"status": "draft"}, role="admin")
    assert r.status == 200 and r.json()["status"] == "draft" and r.json()["url"] is None
    stack.drain("HelpPublishFunction")
    site = files(stack)
    assert "help/en/how-do-refunds-work" not in site and "help/en/categories/billing" not in site
    assert [x["title"] for x in json.loads(site["help/en/index.json"])["articles"]] == ["Shipping times"]
    assert b"refunds" not in site["help/en/index.html"]
    # a published article is deleted by an admin only
    assert api(stack, "DELETE", f"/api/articles/{b['id']}").status == 403
    assert api(stack, "DELETE", f"/api/articles/{b['id']}", role="admin").status == 204
    stack.drain("HelpPublishFunction")
    assert "help/en/shipping-times" not in files(stack)
    assert api(stack, "GET", f"/api/articles/{b['id']}").status == 404
    # an agent deletes a draft; its slug is free again
    assert api(stack, "DELETE", f"/api/articles/{a['id']}").status == 204
    assert write(stack)["slug"] == "how-do-refunds-work"


def test_validation_slugs_and_roles(stack):
    a = write(stack)
    r = api(stack, "POST", "/api/articles", {"title": "Other", "slug": a["slug"]})
    assert r.status == 409 and r.json()["error"]["code"] == "slug_taken"
    for bad in ({"title": ""}, {"title": "x", "slug": "Not A Slug"}, {"title": "x", "slug": "categories"},
                {"title": "x", "locale": "english"}, {"title": "x", "status": "live"}, {"title": "x", "extra": 1},
                {"title": "x", "body": "y" * 100_001}):
        r = api(stack, "POST", "/api/articles", bad)
        assert r.status in (400, 422) and "error" in r.json(), bad
    assert api(stack, "PATCH", f"/api/articles/{a['id']}", {}).status == 400
    assert api(stack, "GET", "/api/articles/a_missing").status == 404
    assert public(stack, "GET", "/api/articles").status == 401
    assert public(stack, "POST", "/api/articles/republish").status == 401
    assert api(stack, "POST", "/api/articles/republish").status == 403
    listed = api(stack, "GET", "/api/articles").json()["items"]
    assert [x["id"] for x in listed] == [a["id"]] and "body" not in listed[0]
    found = api(stack, "GET", "/api/articles", query="q=refu").json()["items"]
    assert [x["id"] for x in found] == [a["id"]]
    assert api(stack, "GET", "/api/articles", query="q=zebra").json()["items"] == []
    assert api(stack, "GET", "/api/articles", query="status=published").json()["items"] == []


def test_an_image_is_uploaded_previewed_and_copied_to_the_public_site_when_published(stack):
    article = write(stack)
    r = api(stack, "POST", f"/api/articles/{article['id']}/images",
            {"filename": "Refund form.png", "content_type": "image/png", "size": len(PNG)})
    assert r.status == 201, r.body
    grant = r.json()
    assert grant["path"].startswith(f"/help/images/{article['id']}/im_") and grant["markdown"] == \
        f"![refund form]({grant['path']})"
    assert grant["fields"]["Content-Type"] == "image/png" and "policy" in grant["fields"]
    policy = json.loads(__import__("base64").b64decode(grant["fields"]["policy"]))
    assert ["content-length-range", 1, 5 * 1024 * 1024] in policy["conditions"]
    for bad in ({"filename": "x.svg", "content_type": "image/svg+xml", "size": 10},
                {"filename": "x.png", "content_type": "image/png", "size": 50 * 1024 * 1024}):
        assert api(stack, "POST", f"/api/articles/{article['id']}/images", bad).status == 400
    assert api(stack, "POST", "/api/articles/a_0000000000000000000000000000/images",
               {"filename": "x.png", "content_type": "image/png", "size": 10}).status == 404
    # the browser's POST, as S3 stores it
    media = stack.resolver.refs["MediaBucket"]
    stack.clients["s3"].put_object(Bucket=media, Key=grant["fields"]["key"], Body=PNG, ContentType="image/png")
    # a second "image" that is really HTML: never made public
    fake = api(stack, "POST", f"/api/articles/{article['id']}/images",
               {"filename": "x.png", "content_type": "image/png", "size": 30}).json()
    stack.clients["s3"].put_object(Bucket=media, Key=fake["fields"]["key"], Body=b"<script>alert(1)</script>",
                                   ContentType="image/png")
    body = f"See the form:\n\n{grant['markdown']}\n\n![fake]({fake['path']})"
    api(stack, "PATCH", f"/api/articles/{article['id']}", {"body": body})
    preview = api(stack, "POST", "/api/articles/preview", {"id": article["id"], "title": "T", "body": body}).json()
    assert "X-Amz-Signature=" in preview["html"] and grant["fields"]["key"] in preview["html"]
    publish(stack, article["id"])
    site = files(stack)
    assert site[grant["path"].lstrip("/")] == PNG
    assert fake["path"].lstrip("/") not in site
    head = stack.clients["s3"].head_object(Bucket=bucket(stack), Key=grant["path"].lstrip("/"))
    assert head["ContentType"] == "image/png" and "immutable" in head["CacheControl"]
    assert 'src="https://hooks.example.com/help/images/' in site["help/en/how-do-refunds-work"].decode() or \
        f'src="{grant["path"]}"' in site["help/en/how-do-refunds-work"].decode()
    # deleting the article deletes its uploads, and the next publish its public copies
    assert api(stack, "DELETE", f"/api/articles/{article['id']}", role="admin").status == 204
    stack.drain("HelpPublishFunction")
    assert not any(k.startswith("help/images/") for k in files(stack))
    assert stack.clients["s3"].list_objects_v2(Bucket=media, Prefix="help-images/").get("KeyCount", 0) == 0


def test_the_preview_is_the_published_page_and_sanitized(stack):
    r = api(stack, "POST", "/api/articles/preview", {"title": "Hostile", "body": (
        "<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n<img src=x onerror=alert(3)>\n\n"
        "![svg](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoNCk+)\n\n<iframe src=https://evil.example>")})
    assert r.status == 200
    page = r.json()["html"]
    assert "<script" not in page  # the preview has not even help.js
    assert "javascript:" not in page.replace("[click](javascript:alert(2))", "")
    assert "onerror=" not in page.replace("&lt;img src=x onerror=alert(3)&gt;", "")
    assert "<iframe" not in page and "<img src=\"data:image/svg" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text
    assert public(stack, "POST", "/api/articles/preview", {"title": "x"}).status == 401


def test_the_widget_suggests_published_articles_and_counts_searches_that_found_nothing(stack):
    a = write(stack)
    write(stack, title="Secret draft about refunds", body="refund refund refund", slug="secret")
    publish(stack, a["id"])
    r = public(stack, "GET", "/webchat/articles", query=urlencode({"q": "refund"}))
    assert r.status == 200 and r.headers.get("Cache-Control") == "no-store"
    items = r.json()["items"]
    assert [i["title"] for i in items] == ["How do refunds work?"]
    assert items[0]["url"].endswith("/help/en/how-do-refunds-work") and "five" in items[0]["snippet"]
    assert public(stack, "GET", "/webchat/articles", query="q=card%20five").json()["items"][0]["id"] == a["id"]
    assert public(stack, "GET", "/webchat/articles", query="q=x").json()["items"] == []  # too short: not searched
    assert public(stack, "GET", "/webchat/articles", query="q=Can%20I%20pay%20with%20bitcoin%3F").json()["items"] == []
    assert public(stack, "GET", "/webchat/articles", query="q=" + "y" * 201).status in (400, 422)
    report = api(stack, "GET", "/api/reports/articles").json()
    assert report["failed_searches"] == [{"q": "can i pay with bitcoin", "count": 1}]
    assert not stack.items("HELPSEARCH#")[0].get("ip")  # no address, just the folded words and a count


def test_the_widget_route_keeps_to_the_origin_allow_list_and_rate_limits(stack, settings_env):
    settings_env(WEBCHAT_ALLOWED_ORIGINS="https://shop.example", HELP_ADDRESS_SEARCHES_PER_MINUTE="3")
    ok = public(stack, "GET", "/webchat/articles", query="q=hello", headers={"Origin": "https://shop.example"})
    assert ok.status == 200
    refused = public(stack, "GET", "/webchat/articles", query="q=hello", headers={"Origin": "https://evil.example"})
    assert refused.status == 403 and refused.json()["error"]["code"] == "origin_not_allowed"
    statuses = [public(stack, "GET", "/webchat/articles", query="q=hello",
                       headers={"Origin": "https://shop.example"}).status for _ in range(3)]
    assert statuses[-1] == 429
    limited = public(stack, "GET", "/webchat/articles", query="q=hello", headers={"Origin": "https://shop.example"})
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
    # the counters hold a keyed hash of the address, never the address
    assert not any("127.0.0.1" in json.dumps(i) for i in stack.items("RATE#"))


def test_feedback_views_chats_and_the_report(stack, settings_env):
    a = write(stack)
    draft = write(stack, title="Draft", slug="draft")
    publish(stack, a["id"])
    assert public(stack, "POST", "/help/feedback", {"article": a["id"], "helpful": True}).status == 200
    assert public(stack, "POST", "/help/feedback", {"article": a["id"], "helpful": False}).status == 200
    form = public(stack, "POST", "/help/feedback", urlencode({"article": a["id"], "helpful": "true"}).encode(),
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status == 200 and "text/html" in form.headers["Content-Type"] and "Thanks" in form.body
    assert public(stack, "POST", "/help/views", {"article": a["id"]}).status == 204
    assert public(stack, "POST", "/help/views", {"article": a["id"], "source": "widget"}).status == 204
    assert public(stack, "POST", "/help/chats", {"article": a["id"]}).status == 204
    for bad in ({"article": a["id"]}, {"article": a["id"], "helpful": "maybe"}, {"article": "../x", "helpful": True}):
        assert public(stack, "POST", "/help/feedback", bad).status == 400
    assert public(stack, "POST", "/help/feedback", b"not json", headers={"Content-Type": "application/json"}).status == 400
    # a draft or an unknown article counts nothing
    assert public(stack, "POST", "/help/feedback", {"article": draft["id"], "helpful": True}).status == 404
    assert public(stack, "POST", "/help/views", {"article": "a_" + "0" * 28}).status == 404
    got = api(stack, "GET", f"/api/articles/{a['id']}").json()
    assert (got["views"], got["helpful"], got["not_helpful"]) == (2, 2, 1)
    public(stack, "GET", "/webchat/articles", query="q=warranty%20claim")
    report = api(stack, "GET", "/api/reports/articles").json()
    (row,) = report["items"]
    assert row == {"id": a["id"], "title": "How do refunds work?", "views": 2, "helpful": 2, "not_helpful": 1,
                   "widget_opens": 1, "chats_after": 1}
    assert report["failed_searches"] == [{"q": "warranty claim", "count": 1}]
    assert report["deflection"] == {"opened_from_widget": 1, "chat_after_opening": 1, "deflected": 0}
    assert report["least_helpful"] == [a["id"]]
    assert api(stack, "GET", "/api/reports/articles", query="from=2026-02-01&to=2025-01-01").status == 400
    assert public(stack, "GET", "/api/reports/articles").status == 401
    # the events' rate limit, per address
    settings_env(HELP_ADDRESS_EVENTS_PER_MINUTE="1")
    limited = [public(stack, "POST", "/help/feedback", {"article": a["id"], "helpful": True}).status for _ in range(2)]
    assert limited[-1] == 429


def test_canned_responses_hold_article_links(stack):
    a = write(stack)
    r = api(stack, "POST", "/api/canned-responses", {"shortcut": "refunds", "text": "See {{article.how-do-refunds-work}}"})
    assert r.status == 201
    r = api(stack, "POST", "/api/canned-responses", {"shortcut": "nope", "text": "See {{article.no-such-thing}}"})
    assert r.status == 400 and r.json()["error"]["code"] == "unknown_article"
    assert api(stack, "POST", "/api/canned-responses", {"shortcut": "x", "text": "{{article.<slug>}}"}).status == 400
    assert "article.<slug>" in api(stack, "GET", "/api/canned-responses").json()["variables"]
    assert a["slug"] == "how-do-refunds-work"


def test_the_look_comes_from_settings_and_a_change_republishes(stack):
    a = write(stack)
    publish(stack, a["id"])
    r = api(stack, "PUT", "/api/settings", {"help_center": {"name": "Acme Help", "color": "#aa0000"}}, role="admin")
    assert r.status == 200 and r.json()["help_center"]["name"] == "Acme Help"
    assert api(stack, "PUT", "/api/settings", {"help_center": {"color": "red"}}, role="admin").status == 400
    hostile_logo = {"help_center": {"logo_url": "javascript:alert(1)"}}
    assert api(stack, "PUT", "/api/settings", hostile_logo, role="admin").status == 400
    stack.drain("HelpPublishFunction")
    site = files(stack)
    assert b"#aa0000" in site["help/assets/theme.css"] and b"Acme Help" in site["help/en/how-do-refunds-work"]


def test_cloudfront_is_invalidated_for_what_changed(stack, settings_env):
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    distribution = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": "help", "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "b.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all",
                                 "MinTTL": 0, "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}},
    })["Distribution"]["Id"]
    settings_env(FRONTEND_DISTRIBUTION_ID=distribution)
    a = write(stack)
    publish(stack, a["id"])  # the first publish writes every file
    b = write(stack, title="Shipping", body="Two days.", category="Billing")
    publish(stack, b["id"])
    listed = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]["Items"]
    assert len(listed) == 2
    batches = [cloudfront.get_invalidation(DistributionId=distribution, Id=i["Id"])["Invalidation"]
               ["InvalidationBatch"]["Paths"]["Items"] for i in listed]
    first, second = sorted(batches, key=len, reverse=True)
    assert "/help/en/how-do-refunds-work" in first and "/help/assets/help.js" in first
    assert "/help/en/shipping" in second and "/help/en/index.json" in second and "/help/en/" in second
    assert "/help/en/how-do-refunds-work" not in second  # unchanged


def test_the_openapi_document_has_the_help_routes(stack):
    doc = public(stack, "GET", "/api/openapi.json").json()
    for path, method in (("/api/articles", "get"), ("/api/articles", "post"), ("/api/articles/{article_id}", "patch"),
                         ("/api/articles/{article_id}", "delete"), ("/api/articles/{article_id}/images", "post"),
                         ("/api/articles/preview", "post"), ("/api/reports/articles", "get"),
                         ("/webchat/articles", "get"), ("/help/feedback", "post"), ("/help/views", "post")):
        assert method in doc["paths"][path], (path, method)
    assert doc["paths"]["/help/feedback"]["post"]["security"] == []
    assert "application/x-www-form-urlencoded" in doc["paths"]["/help/feedback"]["post"]["requestBody"]["content"]


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_both_roles_read_and_write(stack, role):
    a = write(stack, role=role)
    assert api(stack, "GET", f"/api/articles/{a['id']}", role=role).status == 200
    assert api(stack, "PATCH", f"/api/articles/{a['id']}", {"title": "New title"}, role=role).json()["version"] == 2
