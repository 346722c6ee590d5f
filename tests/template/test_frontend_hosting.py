"""The agents' app hosting: private bucket read only by CloudFront (OAC), HTTPS, security headers, and the
deploy-frontend.py / create-admin.py scripts against moto."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

from tests.template.helpers import ROOT, of_type, props, resource, target, template, text

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"



def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), ROOT / "infra" / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


deploy_frontend = script("deploy-frontend")
create_admin = script("create-admin")


def distribution() -> dict:
    return props("FrontendDistribution")["DistributionConfig"]


def behaviors() -> list[dict]:
    config = distribution()
    return [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]


# -- template -----------------------------------------------------------------------------------------
def test_the_distribution_reads_the_bucket_through_origin_access_control():
    origins = distribution()["Origins"]
    assert len(origins) == 1
    origin = origins[0]
    assert origin["DomainName"] == {"Fn::GetAtt": ["FrontendBucket", "RegionalDomainName"]}
    assert target(origin["OriginAccessControlId"]) == "FrontendOriginAccessControl"
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    oac = props("FrontendOriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3", "always", "sigv4")


def test_the_distribution_is_https_only_serves_index_html_and_is_price_class_100():
    config = distribution()
    assert config["DefaultRootObject"] == "index.html"
    assert config["PriceClass"] == "PriceClass_100"
    assert all(b["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only") for b in behaviors())
    assert all(set(b["AllowedMethods"]) == {"GET", "HEAD"} for b in behaviors())


def test_assets_are_cached_but_config_json_is_not():
    assert distribution()["DefaultCacheBehavior"]["CachePolicyId"] == CACHING_OPTIMIZED
    config_json = [b for b in distribution()["CacheBehaviors"] if b["PathPattern"].lstrip("/") == "config.json"]
    assert len(config_json) == 1 and config_json[0]["CachePolicyId"] == CACHING_DISABLED


def test_the_frontend_bucket_is_private_encrypted_and_owner_enforced():
    bucket = props("FrontendBucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
        "SSEAlgorithm"] in ("AES256", "aws:kms", "aws:kms:dsse")
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "WebsiteConfiguration" not in bucket  # served by CloudFront's S3 origin, not the website endpoint


def test_only_this_distribution_may_read_the_bucket_and_only_over_tls():
    policies = [p["Properties"] for p in of_type("AWS::S3::BucketPolicy").values()
                if target(p["Properties"]["Bucket"]) == "FrontendBucket"]
    assert len(policies) == 1
    statements = policies[0]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": False}}
               for s in statements)
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    allow = allows[0]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] in ("s3:GetObject", ["s3:GetObject"])
    assert text(allow["Resource"]) == "${FrontendBucket.Arn}/*"
    source_arn = text(allow["Condition"]["StringEquals"]["aws:SourceArn"])
    assert source_arn.endswith(":distribution/${FrontendDistribution}")


def test_responses_carry_security_headers_and_a_csp_naming_the_api_and_cognito():
    for b in behaviors():
        expected = "HelpSecurityHeadersPolicy" if b.get("PathPattern") == "/help/*" else "FrontendSecurityHeadersPolicy"
        assert target(b["ResponseHeadersPolicyId"]) == expected
    headers = props("FrontendSecurityHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ReferrerPolicy"]["ReferrerPolicy"]
    csp = text(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    assert directives["default-src"] == ["'self'"] and directives["script-src"] == ["'self'"]
    connect = directives["connect-src"]
    assert "'self'" in connect
    assert "https://${HttpApi}.execute-api.${AWS::Region}.amazonaws.com" in connect
    assert "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com" in connect
    assert directives["frame-ancestors"] == ["'none'"]
    assert len(csp) < 1783  # CloudFront's limit


def test_the_help_center_is_cached_served_from_index_html_and_allows_no_inline_script():
    # help center: /help/<locale>/ is its index.html (a viewer-request function); the publisher invalidates changes
    (help_behavior,) = [b for b in behaviors() if b.get("PathPattern") == "/help/*"]
    assert help_behavior["CachePolicyId"] == CACHING_OPTIMIZED
    (association,) = help_behavior["FunctionAssociations"]
    assert association["EventType"] == "viewer-request" and target(association["FunctionARN"]) == "HelpIndexFunction"
    assert "index.html" in props("HelpIndexFunction")["FunctionCode"]
    headers = props("HelpSecurityHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["FrameOptions"]["FrameOption"] == "DENY" and headers["ContentTypeOptions"]["Override"] is True
    csp = text(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    assert directives["default-src"] == ["'none'"] and directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"] and directives["object-src"] == ["'none'"]
    assert directives["connect-src"] == ["'self'", "${Api}"] and directives["form-action"] == ["${Api}"]


def test_outputs_name_what_deploy_frontend_reads_and_frontend_origin_stays():
    outputs = template()["Outputs"]
    assert set(deploy_frontend.REQUIRED_OUTPUTS) <= set(outputs)
    assert target(outputs["FrontendBucketName"]["Value"]) == "FrontendBucket"
    assert target(outputs["FrontendDistributionId"]["Value"]) == "FrontendDistribution"
    assert text(outputs["FrontendUrl"]["Value"]) == "https://${FrontendDistribution.DomainName}"
    assert "UserPoolId" in outputs
    assert "FrontendUrl" in template()["Parameters"]["FrontendOrigin"]["Description"]
    assert resource("FrontendBucket")["DeletionPolicy"] == "Retain"


# -- scripts ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("module", [deploy_frontend, create_admin], ids=["deploy-frontend", "create-admin"])
def test_scripts_answer_help(module, capsys):
    with pytest.raises(SystemExit) as done:
        module.parse_args(["--help"])
    assert done.value.code == 0 and "usage:" in capsys.readouterr().out


OUTPUTS = {
    "FrontendBucketName": "sb-frontend", "FrontendDistributionId": "E123EXAMPLE",
    "FrontendUrl": "https://d111.cloudfront.net", "ApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com/",
    "HostedUiDomain": "switchboard-dev-1.auth.us-east-1.amazoncognito.com", "UserPoolClientId": "client-1",
}


class RecordingCloudFront:
    def __init__(self):
        self.invalidations = []

    def create_invalidation(self, DistributionId, InvalidationBatch):
        self.invalidations.append((DistributionId, InvalidationBatch))
        return {"Invalidation": {"Id": f"I{len(self.invalidations)}"}}


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="sb-frontend")
        yield client


@pytest.fixture
def site(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>")
    (tmp_path / "app.js").write_text("export const x = 1;")
    (tmp_path / "styles.css").write_text("body{}")
    (tmp_path / "config.json").write_text('{"local": true}')  # a developer's local config: never published
    return tmp_path


def test_config_json_is_what_the_app_reads():
    assert deploy_frontend.config(OUTPUTS) == {
        "apiUrl": "https://abc.execute-api.us-east-1.amazonaws.com", "local": False,
        "channels": ["whatsapp", "messenger", "instagram", "telegram", "sms", "email", "webchat"],
        "cognito": {"domain": "switchboard-dev-1.auth.us-east-1.amazoncognito.com", "clientId": "client-1",
                    "redirectUri": "https://d111.cloudfront.net/"}}


def test_the_real_frontend_plans_with_types_and_cache_control():
    uploads = {u.key: u for u in deploy_frontend.plan(OUTPUTS)}
    assert {"index.html", "app.js", "auth.js", "styles.css", "widget.js", "config.json"} <= set(uploads)
    assert uploads["app.js"].content_type.startswith("text/javascript")
    assert uploads["styles.css"].content_type.startswith("text/css")
    assert uploads["index.html"].content_type.startswith("text/html")
    assert uploads["index.html"].cache_control == uploads["config.json"].cache_control == "no-cache"
    assert "max-age" in uploads["app.js"].cache_control


def test_deploy_uploads_writes_config_and_invalidates(s3, site):
    cloudfront, out = RecordingCloudFront(), io.StringIO()
    result = deploy_frontend.publish(OUTPUTS, s3, cloudfront, source=site, out=out)
    assert sorted(result["uploaded"]) == ["app.js", "config.json", "index.html", "styles.css"]
    index = s3.get_object(Bucket="sb-frontend", Key="index.html")
    assert index["ContentType"].startswith("text/html") and index["CacheControl"] == "no-cache"
    js = s3.get_object(Bucket="sb-frontend", Key="app.js")
    assert js["ContentType"].startswith("text/javascript") and "no-cache" not in js["CacheControl"]
    cfg = s3.get_object(Bucket="sb-frontend", Key="config.json")
    assert cfg["ContentType"].startswith("application/json") and cfg["CacheControl"] == "no-cache"
    assert json.loads(cfg["Body"].read()) == deploy_frontend.config(OUTPUTS)
    [(distribution_id, batch)] = cloudfront.invalidations
    assert distribution_id == "E123EXAMPLE"
    assert {"/index.html", "/config.json"} <= set(batch["Paths"]["Items"])
    assert batch["Paths"]["Quantity"] == len(batch["Paths"]["Items"])
    # Run again: nothing changed, nothing uploaded, but index.html and config.json are still invalidated
    again = deploy_frontend.publish(OUTPUTS, s3, cloudfront, source=site, out=io.StringIO())
    assert again["uploaded"] == [] and len(again["unchanged"]) == 4
    assert set(cloudfront.invalidations[1][1]["Paths"]["Items"]) == {"/", "/index.html", "/config.json"}


def test_a_dry_run_changes_nothing(s3, site):
    cloudfront, out = RecordingCloudFront(), io.StringIO()
    result = deploy_frontend.publish(OUTPUTS, s3, cloudfront, source=site, dry_run=True, out=out)
    assert len(result["uploaded"]) == 4 and result["invalidation"] is None
    assert s3.list_objects_v2(Bucket="sb-frontend").get("KeyCount", 0) == 0 and cloudfront.invalidations == []
    assert "would upload" in out.getvalue()


def test_deploy_refuses_a_stack_without_the_frontend_outputs(s3, site):
    with pytest.raises(deploy_frontend.ScriptError, match="FrontendBucketName"):
        deploy_frontend.publish({k: v for k, v in OUTPUTS.items() if k != "FrontendBucketName"}, s3,
                                RecordingCloudFront(), source=site, out=io.StringIO())


@pytest.fixture
def pool():
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id = cognito.create_user_pool(PoolName="sb", UsernameAttributes=["email"])["UserPool"]["Id"]
        for group in ("admin", "agent"):
            cognito.create_group(GroupName=group, UserPoolId=pool_id)
        yield cognito, pool_id


def groups_of(cognito, pool_id, username):
    return {g["GroupName"] for g in cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username=username)["Groups"]}


def test_create_admin_creates_a_verified_user_in_the_group_and_is_idempotent(pool):
    cognito, pool_id = pool
    first = create_admin.ensure_user(cognito, pool_id, "ops@example.com", "admin", out=io.StringIO())
    assert first["created"] is True
    user = cognito.admin_get_user(UserPoolId=pool_id, Username="ops@example.com")
    attrs = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attrs["email"] == "ops@example.com" and attrs["email_verified"] == "true"
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert groups_of(cognito, pool_id, first["username"]) == {"admin"}
    # Again, as an agent too: no error, no second user, and the group is added
    again = create_admin.ensure_user(cognito, pool_id, "ops@example.com", "admin", out=io.StringIO())
    assert again["created"] is False
    create_admin.ensure_user(cognito, pool_id, "ops@example.com", "agent", out=io.StringIO())
    assert groups_of(cognito, pool_id, first["username"]) == {"admin", "agent"}
    assert len(cognito.list_users(UserPoolId=pool_id)["Users"]) == 1


def test_create_admin_reads_the_pool_from_the_stack_and_checks_its_arguments():
    class Cfn:
        def describe_stacks(self, StackName):
            return {"Stacks": [{"Outputs": [{"OutputKey": "UserPoolId", "OutputValue": f"pool-of-{StackName}"}]}]}

    assert create_admin.user_pool_id(Cfn(), "switchboard-dev") == "pool-of-switchboard-dev"
    args = create_admin.parse_args(["--stage", "prod", "--email", " Ana@Example.com ", "--role", "agent"])
    assert (args.email, args.role) == ("ana@example.com", "agent")
    with pytest.raises(SystemExit):
        create_admin.parse_args(["--stage", "dev", "--email", "not-an-email"])
    with pytest.raises(SystemExit):
        create_admin.parse_args(["--stage", "dev", "--email", "a@b.co", "--role", "owner"])
