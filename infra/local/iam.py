"""Least privilege, enforced locally: each function's role from template.yaml becomes an IAM role in the in-process
moto, each function works with that role's temporary credentials, and moto checks every request against them on
the resources AWS checks (moto alone authorizes DynamoDB, SSM and SES v2 on "*", batch SQS actions by their own
names, and S3 multi-object deletes on the bucket; presigned URLs it does not authorize at all)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from infra.local.template import Resolver

log = logging.getLogger("local.iam")
ADMIN_USER = "switchboard-local-admin"
ROLE_PREFIX = "switchboard-local-"
REGION = "us-east-1"
SESSION_SECONDS = 12 * 3600
# SQS authorizes a batch under the action of one of its entries.
SQS_BATCH_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
                     "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}
# DynamoDB authorizes each part of a transaction as the single-item action it is.
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def environment(self) -> dict[str, str]:
        env = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env

    def client_arguments(self) -> dict[str, Any]:
        return {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key,
                "aws_session_token": self.session_token}


def wanted(setting: str | None, external_endpoint: bool) -> tuple[bool, str]:
    """Whether to enforce the roles, and why not. LOCAL_IAM=off turns it off; an external endpoint cannot be set up."""
    if (setting or "on").strip().lower() in ("off", "0", "false", "no"):
        return False, "LOCAL_IAM=off"
    if external_endpoint:
        return False, "AWS_ENDPOINT_URL is set (the stack cannot set up another endpoint's IAM)"
    return True, ""


def _account() -> str:
    from moto.core import DEFAULT_ACCOUNT_ID

    return DEFAULT_ACCOUNT_ID


def admin_credentials() -> Credentials:
    """The stack's own identity (creates resources, polls for /_local controls): made in moto before auth is on."""
    from moto.iam.models import iam_backends

    iam = iam_backends[_account()]["aws"]
    iam.create_user(region_name=REGION, user_name=ADMIN_USER, path="/", tags=[])
    iam.put_user_policy(ADMIN_USER, "administrator", json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(ADMIN_USER)
    return Credentials(key.access_key_id, key.secret_access_key)


def enforce() -> None:
    """From now on every request to the in-process moto is authenticated and authorized."""
    from moto import settings

    install()
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0


def role_id(function_properties: dict[str, Any]) -> str | None:
    """The logical id of the function's role (`Role: !GetAtt XRole.Arn`), or None."""
    role = function_properties.get("Role")
    if isinstance(role, dict) and isinstance(role.get("Fn::GetAtt"), list):
        return str(role["Fn::GetAtt"][0])
    return None


def function_credentials(template: dict[str, Any], resolver: Resolver, function: str,
                         role: str | None) -> tuple[Credentials, str]:
    """Create the role with its resolved inline policies (moto validates them as IAM does), and assume it as Lambda
    does for the function: its credentials and the role's ARN. Straight in moto's backends: the stack is the
    account here, not an API caller."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    iam = iam_backends[_account()]["aws"]
    name = ROLE_PREFIX + (role or f"{function}EmptyRole")
    props = (template["Resources"].get(role or "", {}) or {}).get("Properties") or {}
    if role is None:
        log.warning("%s has no explicit Role: it runs with a role that allows nothing", function)
    trust = resolver.resolve(props.get("AssumeRolePolicyDocument") or {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    created = iam.create_role(role_name=name, assume_role_policy_document=json.dumps(trust), path="/",
                              permissions_boundary=None, description=f"{function} (template: {role})", tags=[],
                              max_session_duration=str(SESSION_SECONDS))
    for policy in resolver.resolve(props.get("Policies") or []):
        iam.put_role_policy(name, policy["PolicyName"], json.dumps(policy["PolicyDocument"]))
    # Lambda's service principal assumes the role (its trust policy names lambda.amazonaws.com, not a local user).
    assumed = sts_backends[_account()]["aws"].assume_role(region_name=REGION, role_session_name=function,
                                                          role_arn=created.arn, policy="",
                                                          duration=SESSION_SECONDS, external_id="")
    return Credentials(assumed.access_key_id, assumed.secret_access_key, assumed.session_token), created.arn


# -- what moto authorizes -----------------------------------------------------------------------------------------
def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{_account()}:{resource}"


def _table(name: Any) -> str:
    name = str(name)
    return name if name.startswith("arn:") else _arn("dynamodb", f"table/{name}")


def _dynamodb(response: Any, action: str, resource: str) -> list[tuple[str, str]]:
    if action in ("BatchGetItem", "BatchWriteItem"):
        return [(action, _table(t)) for t in (response._get_param("RequestItems") or {})]
    if action in ("TransactWriteItems", "TransactGetItems"):
        pairs = []
        for item in response._get_param("TransactItems") or []:
            for kind, part in item.items():
                pairs.append((TRANSACT_ACTIONS.get(kind, kind), _table(part.get("TableName"))))
        return pairs
    table = response._get_param("TableName")
    if not table:
        return [(action, "*")]
    index = response._get_param("IndexName")
    return [(action, _table(table) + (f"/index/{index}" if index else ""))]


def _sqs(response: Any, action: str, resource: str) -> list[tuple[str, str]]:
    return [(SQS_BATCH_ACTIONS.get(action, action), resource)]


def _ssm(response: Any, action: str, resource: str) -> list[tuple[str, str]]:
    names = response._get_param("Names") or [response._get_param("Name") or response._get_param("Path")]
    return [(action, _arn("ssm", "parameter/" + str(n).lstrip("/")) if n else "*") for n in names]


def _sesv2(response: Any, action: str, resource: str) -> list[tuple[str, str]]:
    if action != "SendEmail":
        return [(action, resource)]
    from moto.ses.models import ses_backends

    body = json.loads(response.body or "{}")
    address = parseaddr(str(body.get("FromEmailAddress") or ""))[1].lower()
    identities = ses_backends[_account()][REGION].email_identities
    identity = address if address in identities else address.rpartition("@")[2]
    pairs = [(action, _arn("ses", f"identity/{identity}"))]
    if body.get("ConfigurationSetName"):
        pairs.append((action, _arn("ses", f"configuration-set/{body['ConfigurationSetName']}")))
    return pairs


RULES = {"dynamodb": _dynamodb, "sqs": _sqs, "ssm": _ssm, "sesv2": _sesv2}
JSON_ERRORS = {"dynamodb": "AccessDeniedException", "ssm": "AccessDeniedException", "sesv2": "AccessDeniedException",
               "sqs": "AccessDenied"}
# What these JSON services answer to an unknown key and to a bad signature (moto answers in XML, as a query service).
UNKNOWN_KEY = {"dynamodb": (400, "UnrecognizedClientException"), "ssm": (400, "UnrecognizedClientException"),
               "sesv2": (403, "UnrecognizedClientException"), "sqs": (403, "InvalidClientTokenId")}
BAD_SIGNATURE = {"dynamodb": (400, "InvalidSignatureException"), "ssm": (400, "InvalidSignatureException"),
                 "sesv2": (403, "InvalidSignatureException"), "sqs": (403, "SignatureDoesNotMatch")}


def _who(arn: str) -> str:
    """`ProcessorFunction (role switchboard-local-ProcessorRole)` for an assumed role's session ARN."""
    if ":assumed-role/" in arn:
        _, role, session = arn.rsplit("/", 2)
        return f"{session} (role {role})"
    return arn.rsplit("/", 1)[-1]


def _denial_message(principal: str, action: str, resource: str) -> str:
    return (f"User: {principal} is not authorized to perform: {action} on resource: {resource} because no "
            f"identity-based policy allows the {action} action")


def _scoped_request_classes() -> tuple[type, type]:
    from moto.core.exceptions import JsonRESTError
    from moto.iam.access_control import IAMRequest, S3IAMRequest

    class AccessDenied(JsonRESTError):
        code = 403

    def refusal(status: int, error: str, message: str) -> JsonRESTError:
        exc = JsonRESTError(error, message)
        exc.code = status
        return exc

    class Scoped(IAMRequest):
        """One request, authorized for each (action, resource) AWS checks it for; a denial is logged and answered as
        the service answers it."""

        def __init__(self, response: Any, service: str, **kwargs: Any):
            self._response, self._service_name, self._resource = response, service, "*"
            super().__init__(**kwargs)

        def check_action_permitted(self, resource: str) -> None:
            prefix, _, action = self._action.partition(":")
            rule = RULES.get(self._service_name)
            for one_action, one_resource in (rule(self._response, action, resource) if rule else [(action, resource)]):
                self._action, self._resource = f"{prefix}:{one_action}", one_resource
                super().check_action_permitted(one_resource)

        def _raise_access_denied(self) -> None:
            message = _denial_message(self._access_key.arn, self._action, self._resource)
            log.warning("AccessDenied: %s: %s", _who(self._access_key.arn), message)
            raise AccessDenied(JSON_ERRORS.get(self._service_name, "AccessDenied"), message)

        def _raise_invalid_access_key(self, reason: str) -> None:
            if self._service_name not in UNKNOWN_KEY:
                super()._raise_invalid_access_key(reason)
            raise refusal(*UNKNOWN_KEY[self._service_name], "The security token included in the request is invalid.")

        def _raise_signature_does_not_match(self) -> None:
            if self._service_name not in BAD_SIGNATURE:
                super()._raise_signature_does_not_match()
            raise refusal(*BAD_SIGNATURE[self._service_name], "The request signature we calculated does not match the "
                          "signature you provided.")

    class ScopedS3(S3IAMRequest):
        def __init__(self, pairs: list[tuple[str, str]] | None = None, **kwargs: Any):
            self._pairs, self._resource = pairs, "*"
            super().__init__(**kwargs)

        def check_action_permitted(self, resource: str) -> None:
            for action, one_resource in self._pairs or [(self._action.partition(":")[2], resource)]:
                self._action, self._resource = f"s3:{action}", one_resource
                super().check_action_permitted(one_resource)

        def _raise_access_denied(self) -> None:
            log.warning("AccessDenied: %s: %s", _who(self._access_key.arn),
                        _denial_message(self._access_key.arn, self._action, self._resource))
            super()._raise_access_denied()

    return Scoped, ScopedS3


# -- API Gateway's @connections API (the local stack serves it: infra/local/websocket.py) ------------------------------
class Refused(Exception):
    """What API Gateway answers a call it does not authorize: (HTTP status, x-amzn-ErrorType, message)."""

    def __init__(self, status: int, error: str, message: str):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def _execute_api_request_class() -> type:
    from moto.iam.access_control import IAMRequest

    class ExecuteApiRequest(IAMRequest):
        """A SigV4-signed call to an IAM-authorized API Gateway API, checked as moto checks its own services."""

        def check_action_permitted(self, resource: str) -> None:
            self._resource = resource
            super().check_action_permitted(resource)

        def _raise_access_denied(self) -> None:
            message = _denial_message(self._access_key.arn, self._action, self._resource)
            log.warning("AccessDenied: %s: %s", _who(self._access_key.arn), message)
            raise Refused(403, "AccessDeniedException", message)

        def _raise_invalid_access_key(self, reason: str) -> None:
            raise Refused(403, "UnrecognizedClientException", "The security token included in the request is invalid.")

        def _raise_signature_does_not_match(self) -> None:
            raise Refused(403, "InvalidSignatureException", "The request signature we calculated does not match the "
                          "signature you provided.")

    return ExecuteApiRequest


def authorize_execute_api(method: str, target: str, headers: Any, body: bytes, resource: str) -> Refused | None:
    """API Gateway's IAM check of one request (`target`: its path and query, as signed): a SigV4 signature by a key
    moto knows (a function's role session), then `execute-api:ManageConnections` (the @connections API's only
    action) on `resource`, `arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/@connections/<id>`.
    None when allowed; the refusal otherwise (a denial is logged in AWS's words, as the other services' are)."""
    if "Authorization" not in headers or "Credential=" not in str(headers["Authorization"]):
        return Refused(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    try:
        request = _execute_api_request_class()(account_id=_account(), method=method, path=target, data={}, body=body,
                                               headers=headers, action="ManageConnections")
        request.check_signature()
        request.check_action_permitted(resource)
    except Refused as refused:
        return refused
    return None


def _auth_active() -> bool:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


_installed = False


def install() -> None:
    """Teach moto to authorize as AWS does (idempotent). Patched where every service's handler inherits it, so that
    no service module is imported before its first request (moto's SSM alone imports all of EC2, 1.5 s)."""
    global _installed
    if _installed:
        return
    _installed = True
    from moto.core.authorization import ActionAuthenticatorMixin

    scoped, scoped_s3 = _scoped_request_classes()
    original_s3 = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action

    def authorize(self: Any, resource: str = "*") -> None:
        self._authenticate_and_authorize_action(partial(scoped, self, str(self.service_name)), resource)

    def authorize_s3(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        if not _auth_active():
            original_s3(self, bucket_name=bucket_name, key_name=key_name)
            return
        if self.method == "OPTIONS":
            return  # a browser's CORS preflight carries no credentials: S3 answers it from the bucket's CORS rules
        if "Authorization" not in self.headers and self.method == "POST" and "policy" in (self.querystring or {}):
            _presigned_post(self, scoped_s3, bucket_name)  # a browser's upload (help center images)
            return
        if "Authorization" not in self.headers:
            _presigned(self, scoped_s3, bucket_name, key_name)
            return
        pairs = None
        if key_name is None and self.data.get("Action") == "DeleteObject" and self.is_delete_keys():
            pairs = [("DeleteObject", f"arn:aws:s3:::{bucket_name}/{key}") for key in _deleted_keys(self.body)]
        resource = f"arn:aws:s3:::{bucket_name}/{key_name}" if key_name else f"arn:aws:s3:::{bucket_name or '*'}"
        self._authenticate_and_authorize_action(partial(scoped_s3, pairs), resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign]
    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = authorize_s3  # type: ignore[method-assign]


def _deleted_keys(body: bytes | str) -> list[str]:
    """S3 checks s3:DeleteObject on every object of a multi-object delete, not on the bucket."""
    import xmltodict

    objects = (xmltodict.parse(body or b"<Delete/>").get("Delete") or {}).get("Object") or []
    return [str(o.get("Key")) for o in (objects if isinstance(objects, list) else [objects])]


def _presigned_post(response: Any, scoped_s3: type, bucket: str | None) -> None:
    """A presigned POST (a browser's upload: the policy and its SigV4 signature in the form's fields) carries its
    signer's permissions, as a presigned URL does: check the signature of the policy, its expiry and the signer's
    s3:PutObject on the key. (The policy's conditions are S3's to check, and moto's.)"""
    import base64
    import hashlib
    import hmac
    import json

    from moto.s3.exceptions import S3AccessDeniedError

    fields = {k.lower(): v[0] for k, v in (response.querystring or {}).items() if isinstance(v, list) and v}
    credential, signature, policy = (fields.get(n, "") for n in ("x-amz-credential", "x-amz-signature", "policy"))
    if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256" or not (credential and signature and policy):
        log.warning("AccessDenied: an anonymous POST upload to %s", bucket)
        raise S3AccessDeniedError()
    headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature={signature}",
               "X-Amz-Date": fields.get("x-amz-date", "")}
    if fields.get("x-amz-security-token"):
        headers["X-Amz-Security-Token"] = fields["x-amz-security-token"]
    request = scoped_s3(account_id=response.current_account, method="PUT", path=f"/{bucket}/{fields.get('key', '')}",
                        data=response.data, body=b"", headers=headers, action="PutObject")
    try:
        expires = datetime.fromisoformat(str(json.loads(base64.b64decode(policy))["expiration"]).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        raise S3AccessDeniedError() from None
    if expires.timestamp() < time.time():
        log.warning("AccessDenied: a presigned POST whose policy expired, to %s", bucket)
        raise S3AccessDeniedError()
    _, day, region, service, _ = [*credential.split("/"), "", "", "", "", ""][:5]
    key = ("AWS4" + request._access_key.create_credentials().secret_key).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(hmac.new(key, policy.encode(), hashlib.sha256).hexdigest(), signature):
        request._raise_signature_does_not_match()
    request.check_action_permitted(f"arn:aws:s3:::{bucket}/{fields.get('key', '')}")


def _presigned(response: Any, scoped_s3: type, bucket: str | None, key: str | None) -> None:
    """A presigned URL (SigV4 in the query) carries its signer's permissions: check the signature, the expiry and the
    signer's policies. Any other request without credentials is anonymous, and the bucket is private."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from moto.s3.exceptions import S3AccessDeniedError

    url = urlsplit(response.uri)
    query = dict(parse_qsl(url.query, keep_blank_values=True))
    if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or "X-Amz-Signature" not in query:
        log.warning("AccessDenied: an anonymous request for s3:%s on %s/%s", response.data.get("Action"), bucket, key)
        raise S3AccessDeniedError()
    headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={query.get('X-Amz-Credential', '')}, "
                                f"SignedHeaders=host, Signature={query['X-Amz-Signature']}",
               "X-Amz-Date": query.get("X-Amz-Date", "")}
    if "X-Amz-Security-Token" in query:
        headers["X-Amz-Security-Token"] = query["X-Amz-Security-Token"]
    request = scoped_s3(account_id=response.current_account, method=response.method, path=url.path, data=response.data,
                        body=b"", headers=headers, action=response._get_action())
    signed_at = datetime.strptime(query.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if signed_at.timestamp() + int(query.get("X-Amz-Expires", "0")) < time.time():
        log.warning("AccessDenied: a presigned URL that expired, for %s/%s", bucket, key)
        raise S3AccessDeniedError()
    auth = S3SigV4QueryAuth(request._access_key.create_credentials(), "s3", request._region,
                            expires=int(query.get("X-Amz-Expires", "3600")))
    unsigned = [(k, v) for k, v in parse_qsl(url.query, keep_blank_values=True) if not k.startswith("X-Amz-")]
    from urllib.parse import urlencode

    host = response.headers.get("Host") or url.netloc
    probe = AWSRequest(method=response.method, url=f"{url.scheme}://{host}{url.path}"
                       + (f"?{urlencode(unsigned)}" if unsigned else ""), headers={"host": host})
    probe.context["timestamp"] = query["X-Amz-Date"]
    auth._modify_request_before_signing(probe)  # type: ignore[attr-defined]  # the URL as the signer built it
    expected = auth.signature(auth.string_to_sign(probe, auth.canonical_request(probe)), probe)
    if expected != query["X-Amz-Signature"]:
        request._raise_signature_does_not_match()
    resource = f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"
    request.check_action_permitted(resource)
