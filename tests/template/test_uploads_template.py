"""Rich replies in template.yaml: unused uploads expire, browsers may POST to the media bucket from the app's and the
widgets' origins, the app's CSP lets them and plays media, each function reaches only the prefixes its part of the
upload path needs, and a visitor's upload route is throttled."""

from __future__ import annotations

from tests.template.helpers import allowed, functions, props, statements, template, text

MEDIA = "${MediaBucket.Arn}"


def test_unused_uploads_expire_after_a_day():
    rules = {r["Id"]: r for r in props("MediaBucket")["LifecycleConfiguration"]["Rules"]}
    rule = rules["ExpireUnusedUploads"]
    assert rule["Status"] == "Enabled" and rule["Prefix"] == "uploads/" and rule["ExpirationInDays"] == 1


def test_browsers_may_post_to_the_media_bucket_from_the_app_and_the_widgets_websites_only():
    (rule,) = props("MediaBucket")["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]
    origins = rule["AllowedOrigins"]["Fn::If"]
    assert origins[0] == "HasWebchatOrigins"
    assert "${FrontendOrigin},${WebchatAllowedOrigins}" in str(origins[1]) and origins[2] == [{"Ref": "FrontendOrigin"}]


def test_the_apps_csp_allows_the_post_to_the_bucket_and_its_media():
    policy = props("FrontendSecurityHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = text(policy["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    regional = "https://${MediaBucket}.s3.${AWS::Region}.amazonaws.com"  # where presigned POSTs point
    assert regional in directives["connect-src"] and regional in directives["media-src"]
    assert "blob:" in directives["img-src"]  # previews of files before they are sent
    assert directives["form-action"] == ["'self'", "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com"]


def s3_grants(function: str) -> set[tuple[str, str]]:
    return {(a, r) for st in statements(function) for a in st.actions if a.startswith("s3:") for r in st.resources}


def test_each_function_reaches_only_the_upload_prefixes_its_part_needs():
    api = s3_grants("AgentApiFunction")
    assert {("s3:PutObject", f"{MEDIA}/uploads/c/*"), ("s3:GetObject", f"{MEDIA}/uploads/c/*"),
            ("s3:DeleteObject", f"{MEDIA}/uploads/*"), ("s3:PutObject", f"{MEDIA}/media/*")} <= api
    assert not any(r.endswith("/uploads/v/*") and a == "s3:PutObject" for a, r in api)  # visitors' uploads: not the API's
    webchat = s3_grants("WebchatFunction")
    assert {r for a, r in webchat if a == "s3:PutObject"} == {f"{MEDIA}/uploads/v/*"}  # signs visitors' POSTs only
    assert allowed("ProcessorFunction", "s3:DeleteObject") == [f"{MEDIA}/media/*", f"{MEDIA}/uploads/v/*"]
    assert f"{MEDIA}/media/*" in allowed("SenderFunction", "s3:GetObject")
    assert not any(a != "s3:GetObject" for a, _ in s3_grants("SenderFunction"))
    for function in ("AgentApiFunction", "WebchatFunction"):
        listings = [st for st in statements(function) if "s3:ListBucket" in st.actions]  # uploads (and help images)
        assert listings and all(listing.resources == (MEDIA,) and "s3:prefix" in str(listing.raw["Condition"]["StringLike"])
                                for listing in listings)
        assert any("uploads/" in str(listing.raw["Condition"]["StringLike"]) for listing in listings)


def test_the_visitors_upload_route_is_public_throttled_and_the_limit_a_parameter():
    upload = functions()["WebchatFunction"]["Events"]["Upload"]["Properties"]
    assert (upload["Path"], upload["Method"], upload["Auth"]) == ("/webchat/uploads", "POST", {"Authorizer": "NONE"})
    assert "POST /webchat/uploads" in props("HttpApi")["RouteSettings"]
    for function in ("WebchatFunction", "AgentApiFunction"):
        assert functions()[function]["Environment"]["Variables"]["WEBCHAT_MAX_FILE_BYTES"] == {"Ref": "WebchatMaxFileBytes"}
    assert template()["Parameters"]["WebchatMaxFileBytes"]["Default"] == 10485760
