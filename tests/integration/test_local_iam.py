"""The local stack's IAM (infra/local/iam.py): each function's role from template.yaml, checked by moto on the
resources AWS checks. The probe runs in a process of its own (`python -m tests.integration.test_local_iam`): it turns
on moto's authentication, which must not leak into the other tests' moto."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.conftest import ROOT

# (function, case, allowed): what each role may and may not do, as AWS would decide it.
EXPECTED = [
    ("WhatsAppWebhookFunction", "put the dedupe marker", True),
    ("WhatsAppWebhookFunction", "read an item", False),
    ("WhatsAppWebhookFunction", "enqueue inbound, as a batch", True),
    ("WhatsAppWebhookFunction", "enqueue outbound", False),
    ("WhatsAppWebhookFunction", "read its own channel's secret", True),
    ("WhatsAppWebhookFunction", "read another channel's secret", False),
    ("ProcessorFunction", "query an index", True),
    ("ProcessorFunction", "scan the table", False),
    ("ProcessorFunction", "write a transaction with a condition check", True),
    ("ProcessorFunction", "batch write", True),
    ("ProcessorFunction", "receive from inbound", True),
    ("ProcessorFunction", "receive from outbound", False),
    ("ProcessorFunction", "put media", True),
    ("ProcessorFunction", "put outside media/", False),
    ("ProcessorFunction", "read raw email", True),
    ("AgentApiFunction", "presigned link to media", True),
    ("AgentApiFunction", "presigned link to raw email", False),
    ("AgentApiFunction", "presigned link, tampered", False),
    ("AgentApiFunction", "presigned link, expired", False),
    ("AgentApiFunction", "erase media (multi-object delete)", True),
    ("AgentApiFunction", "send email", False),
    ("RetentionFunction", "erase media (multi-object delete)", True),
    ("SesEventsFunction", "erase media (multi-object delete)", False),
    ("SurveyFunction", "send email with its configuration set", True),
    ("SurveyFunction", "send email with another configuration set", False),
    ("nobody", "an unknown access key", False),
    ("nobody", "an unknown key to DynamoDB", False),
    ("nobody", "an anonymous request for media", False),
    # help center: a browser's upload by a presigned POST carries its signer's permissions (article images)
    ("AgentApiFunction", "presigned POST of an article image", True),
    ("AgentApiFunction", "presigned POST outside help-images/", False),
    ("AgentApiFunction", "presigned POST, tampered policy", False),
    ("nobody", "an anonymous POST upload", False),
    # a browser's CORS preflight before its upload carries no credentials, and S3 does not ask for any
    ("nobody", "a CORS preflight to the bucket", True),
    # issue 15: the WebSocket function shows customers read receipts and typing, with the channels' send tokens
    ("WebSocketFunction", "read the WhatsApp send token", True),
    ("WebSocketFunction", "read the Telegram bot token", True),
    ("WebSocketFunction", "read the SMS auth token", False),
    ("WebSocketFunction", "read a webhook's app secret", False),
    ("WebSocketFunction", "update the conversation's indicator markers", True),
    ("WebSocketFunction", "batch write", False),
    # issue 17: voicemail transcripts. The processor starts Amazon Transcribe's jobs (Transcribe writes their output
    # with its permissions); TranscriptsFunction reads that output, and deletes one whose message was erased
    ("ProcessorFunction", "start a transcription job", True),
    ("ProcessorFunction", "put a transcript", True),
    ("TranscriptsFunction", "read a transcript", True),
    ("TranscriptsFunction", "delete a transcript", True),
    ("TranscriptsFunction", "read media", False),
    ("TranscriptsFunction", "start a transcription job", False),
    ("AgentApiFunction", "erase a transcript (multi-object delete)", True),
    ("RetentionFunction", "erase a transcript (multi-object delete)", True),
    ("SesEventsFunction", "erase a transcript (multi-object delete)", False),
    # TimersFunction checks a job whose end's event did not come, and records its end as TranscriptsFunction does
    ("TimersFunction", "get a transcription job", True),
    ("TimersFunction", "read a transcript", True),
    ("TimersFunction", "delete a transcript", True),
    ("TimersFunction", "read media", False),
    ("TimersFunction", "start a transcription job", False),
    ("TranscriptsFunction", "get a transcription job", False),
    ("ProcessorFunction", "get a transcription job", False),
    # issue 15: API Gateway's @connections API, served by the local stack, authorizes as API Gateway does
    ("ProcessorFunction", "post to a connection", True),
    ("ProcessorFunction", "close a connection", False),
    ("ProcessorFunction", "post to a connection, body changed after signing", False),
    ("SurveyFunction", "post to a connection", True),  # an in-channel survey's question is a message
    ("TranscriptsFunction", "post to a connection", True),  # issue 17: the open conversation shows the transcript
    ("TimersFunction", "post to a connection", True),  # and when TimersFunction records it
    ("AgentApiFunction", "close a connection", True),  # erasure disconnects the contact's web chat visitors
    ("RetentionFunction", "close a connection", True),
    ("RetentionFunction", "post to a connection", False),
    ("WhatsAppWebhookFunction", "post to a connection", False),
    ("nobody", "an unsigned post to a connection", False),
    ("nobody", "an unknown key to @connections", False),
]


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "tests.integration.test_local_iam"], cwd=ROOT, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("function", "case", "allowed"), EXPECTED)
def test_each_role_allows_what_its_statements_say_and_nothing_else(probe, function, case, allowed):
    outcome = probe["outcomes"][f"{function}: {case}"]
    assert outcome["allowed"] is allowed, outcome


def test_a_denial_answers_as_the_service_does_and_is_logged_in_aws_words(probe):
    dynamodb = probe["outcomes"]["WhatsAppWebhookFunction: read an item"]
    assert dynamodb["code"] == "AccessDeniedException"
    assert probe["outcomes"]["WhatsAppWebhookFunction: enqueue outbound"]["code"] == "AccessDenied"
    assert probe["outcomes"]["nobody: an unknown access key"]["code"] == "InvalidClientTokenId"
    assert probe["outcomes"]["nobody: an unknown key to DynamoDB"]["code"] == "UnrecognizedClientException"
    assert probe["outcomes"]["RetentionFunction: post to a connection"]["code"] == "AccessDeniedException"
    assert probe["outcomes"]["nobody: an unsigned post to a connection"]["code"] == "MissingAuthenticationTokenException"
    assert probe["outcomes"]["nobody: an unknown key to @connections"]["code"] == "UnrecognizedClientException"
    assert probe["outcomes"]["ProcessorFunction: post to a connection, body changed after signing"]["code"] \
        == "InvalidSignatureException"
    line = next(line for line in probe["log"] if "execute-api:ManageConnections" in line)
    assert line.startswith("AccessDenied: ProcessorFunction (role switchboard-local-ProcessorRole): User: "
                           "arn:aws:sts::123456789012:assumed-role/switchboard-local-ProcessorRole/ProcessorFunction "
                           "is not authorized to perform: execute-api:ManageConnections on resource: "
                           "arn:aws:execute-api:us-east-1:123456789012:local-WebSocketApi/dev/DELETE/@connections/c_1 "
                           "because no identity-based policy allows the execute-api:ManageConnections action"), line
    line = next(line for line in probe["log"] if "dynamodb:GetItem" in line)
    assert line.startswith("AccessDenied: WhatsAppWebhookFunction (role switchboard-local-WhatsAppWebhookRole): User: "
                           "arn:aws:sts::123456789012:assumed-role/switchboard-local-WhatsAppWebhookRole/"
                           "WhatsAppWebhookFunction is not authorized to perform: dynamodb:GetItem on resource: "
                           "arn:aws:dynamodb:us-east-1:123456789012:table/switchboard-local-Table because no "
                           "identity-based policy allows the dynamodb:GetItem action"), line


def _run() -> dict[str, Any]:
    import logging

    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    from infra.local import iam, resources
    from infra.local.stack import free_port
    from infra.local.template import Resolver, function_properties, load

    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logging.getLogger("local.iam").addHandler(Collect())
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    admin = iam.admin_credentials()
    iam.enforce()

    def client(service: str, credentials: iam.Credentials) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                            config=Config(signature_version="s3v4" if service == "s3" else None,
                                          retries={"max_attempts": 1}), **credentials.client_arguments())

    template = load(ROOT / "template.yaml")
    resolver = Resolver(template)
    resources.create_all(template, resolver, {s: client(s, admin) for s in ("dynamodb", "sqs", "s3")})
    client("sesv2", admin).create_email_identity(EmailIdentity="switchboard.local")
    ssm = client("ssm", admin)
    for channel in ("whatsapp", "messenger"):
        ssm.put_parameter(Name=f"/switchboard/dev/{channel}/app-secret", Value="s", Type="SecureString")
    for name in ("whatsapp/access-token", "telegram/bot-token", "sms/auth-token"):
        ssm.put_parameter(Name=f"/switchboard/dev/{name}", Value="s", Type="SecureString")
    table, bucket = resolver.refs["Table"], resolver.refs["MediaBucket"]
    inbound, outbound = resolver.refs["InboundQueue"], resolver.refs["OutboundQueue"]
    admin_s3 = client("s3", admin)
    for key in ("media/c1/m1/a.png", "inbound-email/x", "transcripts/CA1.json"):
        admin_s3.put_object(Bucket=bucket, Key=key, Body=b"bytes")
    roles = {name: iam.function_credentials(template, resolver, name, iam.role_id(function_properties(template, name)))[0]
             for name in ("WhatsAppWebhookFunction", "ProcessorFunction", "AgentApiFunction", "RetentionFunction",
                          "SesEventsFunction", "SurveyFunction", "WebSocketFunction", "TranscriptsFunction",
                          "TimersFunction")}
    outcomes: dict[str, Any] = {}

    def case(function: str, name: str, call: Any) -> None:
        try:
            call(roles.get(function))
            outcomes[f"{function}: {name}"] = {"allowed": True}
        except urllib.error.HTTPError as exc:
            outcomes[f"{function}: {name}"] = {"allowed": False, "code": exc.code}
        except Exception as exc:  # noqa: BLE001 - the probe records whatever refused the call
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            outcomes[f"{function}: {name}"] = {"allowed": False, "code": code}

    def fetch(url: str) -> None:
        with urllib.request.urlopen(url, timeout=10) as reply:
            reply.read()

    def delete_objects(credentials: iam.Credentials, key_: str = "media/c1/m1/a.png") -> None:
        out = client("s3", credentials).delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key_}], "Quiet": True})
        if out.get("Errors"):
            raise RuntimeError(out["Errors"][0]["Code"])
        admin_s3.put_object(Bucket=bucket, Key=key_, Body=b"bytes")

    def send(configuration_set: str | None) -> Any:
        extra = {"ConfigurationSetName": configuration_set} if configuration_set else {}
        return lambda c: client("sesv2", c).send_email(
            FromEmailAddress="Support <support@switchboard.local>", Destination={"ToAddresses": ["a@example.com"]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}}, **extra)

    key = {"pk": {"S": "k"}, "sk": {"S": "k"}}
    wa = "WhatsAppWebhookFunction"
    case(wa, "put the dedupe marker", lambda c: client("dynamodb", c).put_item(TableName=table, Item=key))
    case(wa, "read an item", lambda c: client("dynamodb", c).get_item(TableName=table, Key=key))
    case(wa, "enqueue inbound, as a batch", lambda c: client("sqs", c).send_message_batch(
        QueueUrl=inbound, Entries=[{"Id": "1", "MessageBody": "{}"}]))
    case(wa, "enqueue outbound", lambda c: client("sqs", c).send_message(
        QueueUrl=outbound, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d"))
    case(wa, "read its own channel's secret", lambda c: client("ssm", c).get_parameter(
        Name="/switchboard/dev/whatsapp/app-secret", WithDecryption=True))
    case(wa, "read another channel's secret", lambda c: client("ssm", c).get_parameter(
        Name="/switchboard/dev/messenger/app-secret", WithDecryption=True))
    pr = "ProcessorFunction"
    case(pr, "query an index", lambda c: client("dynamodb", c).query(
        TableName=table, IndexName="GSI1", KeyConditionExpression="gsi1pk = :p",
        ExpressionAttributeValues={":p": {"S": "x"}}))
    case(pr, "scan the table", lambda c: client("dynamodb", c).scan(TableName=table))
    case(pr, "write a transaction with a condition check", lambda c: client("dynamodb", c).transact_write_items(
        TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": "t"}, "sk": {"S": "t"}}}},
                       {"ConditionCheck": {"TableName": table, "Key": key, "ConditionExpression": "attribute_exists(pk)"}}]))
    case(pr, "batch write", lambda c: client("dynamodb", c).batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"S": "b"}}}}]}))
    case(pr, "receive from inbound", lambda c: client("sqs", c).receive_message(QueueUrl=inbound))
    case(pr, "receive from outbound", lambda c: client("sqs", c).receive_message(QueueUrl=outbound))
    case(pr, "put media", lambda c: client("s3", c).put_object(Bucket=bucket, Key="media/c2/m2/b.png", Body=b"x"))
    case(pr, "put outside media/", lambda c: client("s3", c).put_object(Bucket=bucket, Key="other/b.png", Body=b"x"))
    case(pr, "read raw email", lambda c: client("s3", c).get_object(Bucket=bucket, Key="inbound-email/x")["Body"].read())
    api = "AgentApiFunction"

    def presigned(key_: str, expires: int = 300) -> Any:
        return lambda c: client("s3", c).generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key_},
                                                               ExpiresIn=expires)

    case(api, "presigned link to media", lambda c: fetch(presigned("media/c1/m1/a.png")(c)))
    case(api, "presigned link to raw email", lambda c: fetch(presigned("inbound-email/x")(c)))
    case(api, "presigned link, tampered", lambda c: fetch(presigned("media/c1/m1/a.png")(c).replace(
        "media/c1/m1/a.png", "media/c1/m1/b.png")))

    def expired(c: iam.Credentials) -> None:
        url = presigned("media/c1/m1/a.png", expires=1)(c)
        time.sleep(2)
        fetch(url)

    case(api, "presigned link, expired", expired)

    def post_upload(key_: str, tamper: bool = False) -> Any:
        def call(c: iam.Credentials) -> None:
            import base64
            import json as json_

            post = client("s3", c).generate_presigned_post(Bucket=bucket, Key=key_, ExpiresIn=300)
            fields = dict(post["fields"])
            if tamper:
                policy = json_.loads(base64.b64decode(fields["policy"]))
                policy["expiration"] = "2099-01-01T00:00:00Z"
                fields["policy"] = base64.b64encode(json_.dumps(policy).encode()).decode()
            import requests

            reply = requests.post(post["url"], data=fields, files={"file": ("a.png", b"png")}, timeout=10)
            if reply.status_code >= 300:
                raise urllib.error.HTTPError(post["url"], reply.status_code, reply.text, {}, None)  # type: ignore[arg-type]
        return call

    case(api, "presigned POST of an article image", post_upload("help-images/a_1/im_1.png"))
    case(api, "presigned POST outside help-images/", post_upload("inbound-email/posted"))
    case(api, "presigned POST, tampered policy", post_upload("help-images/a_1/im_2.png", tamper=True))

    def anonymous_post(_c: Any) -> None:
        import requests

        reply = requests.post(f"{endpoint}/{bucket}", data={"key": "help-images/x.png", "policy": "e30="},
                              files={"file": ("a.png", b"png")}, timeout=10)
        if reply.status_code >= 300:
            raise urllib.error.HTTPError(endpoint, reply.status_code, reply.text, {}, None)  # type: ignore[arg-type]

    case("nobody", "an anonymous POST upload", anonymous_post)

    def preflight(_c: Any) -> None:
        import requests

        origin = admin_s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["AllowedOrigins"][0]
        reply = requests.options(f"{endpoint}/{bucket}", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"}, timeout=10)
        if reply.status_code >= 300 or reply.headers.get("Access-Control-Allow-Origin") != origin:
            raise urllib.error.HTTPError(endpoint, reply.status_code, reply.text, {}, None)  # type: ignore[arg-type]

    case("nobody", "a CORS preflight to the bucket", preflight)
    case(api, "erase media (multi-object delete)", delete_objects)
    case(api, "send email", send(None))
    case("RetentionFunction", "erase media (multi-object delete)", delete_objects)
    case("SesEventsFunction", "erase media (multi-object delete)", delete_objects)
    case("SurveyFunction", "send email with its configuration set", send(str(resolver.ref("SesConfigurationSet"))))
    case("SurveyFunction", "send email with another configuration set", send("another"))
    ws = "WebSocketFunction"
    for case_name, parameter in (("read the WhatsApp send token", "whatsapp/access-token"),
                                 ("read the Telegram bot token", "telegram/bot-token"),
                                 ("read the SMS auth token", "sms/auth-token"),
                                 ("read a webhook's app secret", "whatsapp/app-secret")):
        case(ws, case_name, lambda c, p=parameter: client("ssm", c).get_parameter(
            Name=f"/switchboard/dev/{p}", WithDecryption=True))
    case(ws, "update the conversation's indicator markers", lambda c: client("dynamodb", c).update_item(
        TableName=table, Key=key, UpdateExpression="SET indicated_typing_at = :n",
        ExpressionAttributeValues={":n": {"N": "1"}}))
    case(ws, "batch write", lambda c: client("dynamodb", c).batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "w"}, "sk": {"S": "w"}}}}]}))
    def start_job(c: iam.Credentials) -> None:
        client("transcribe", c).start_transcription_job(
            TranscriptionJobName=f"switchboard-dev-CA{time.time_ns()}", LanguageCode="en-US",
            Media={"MediaFileUri": f"s3://{bucket}/media/c1/m1/a.png"}, OutputBucketName=bucket,
            OutputKey="transcripts/CA1.json")

    case(pr, "start a transcription job", start_job)
    case(pr, "put a transcript", lambda c: client("s3", c).put_object(Bucket=bucket, Key="transcripts/CA2.json",
                                                                      Body=b"{}"))
    tr = "TranscriptsFunction"
    case(tr, "read a transcript", lambda c: client("s3", c).get_object(Bucket=bucket, Key="transcripts/CA1.json"))
    case(tr, "delete a transcript", lambda c: client("s3", c).delete_object(Bucket=bucket, Key="transcripts/CA2.json"))
    case(tr, "read media", lambda c: client("s3", c).get_object(Bucket=bucket, Key="media/c1/m1/a.png"))
    case(tr, "start a transcription job", start_job)
    for function in ("AgentApiFunction", "RetentionFunction", "SesEventsFunction"):
        case(function, "erase a transcript (multi-object delete)",
             lambda c: delete_objects(c, "transcripts/CA1.json"))
    start_job(admin)  # a job of this stage's, for the check to ask about

    def get_job(c: iam.Credentials) -> None:
        (job,) = client("transcribe", admin).list_transcription_jobs(JobNameContains="switchboard-dev-CA")[
            "TranscriptionJobSummaries"][-1:]
        client("transcribe", c).get_transcription_job(TranscriptionJobName=job["TranscriptionJobName"])

    ti = "TimersFunction"
    admin_s3.put_object(Bucket=bucket, Key="transcripts/CA2.json", Body=b"{}")
    case(ti, "get a transcription job", get_job)
    case(ti, "read a transcript", lambda c: client("s3", c).get_object(Bucket=bucket, Key="transcripts/CA1.json"))
    case(ti, "delete a transcript", lambda c: client("s3", c).delete_object(Bucket=bucket, Key="transcripts/CA2.json"))
    case(ti, "read media", lambda c: client("s3", c).get_object(Bucket=bucket, Key="media/c1/m1/a.png"))
    case(ti, "start a transcription job", start_job)
    case(tr, "get a transcription job", get_job)
    case(pr, "get a transcription job", get_job)
    case("nobody", "an unknown access key", lambda _: client("sqs", iam.Credentials("AKIAUNKNOWN", "x")).receive_message(
        QueueUrl=inbound))
    case("nobody", "an unknown key to DynamoDB", lambda _: client(
        "dynamodb", iam.Credentials("AKIAUNKNOWN", "x")).get_item(TableName=table, Key=key))
    case("nobody", "an anonymous request for media", lambda _: fetch(f"{endpoint}/{bucket}/media/c1/m1/a.png"))
    _connections_cases(template, resolver, case)
    server.stop()
    return {"outcomes": outcomes, "log": lines}


def _connections_cases(template: dict[str, Any], resolver: Any, case: Any) -> None:
    """The stack's @connections API (its HTTP front and hub, no stack behind them): allowed means API Gateway's
    answer for a connection that is not open (410), refused means 403."""
    import threading
    import types

    import boto3
    from botocore.config import Config

    from infra.local import iam
    from infra.local.server import serve
    from infra.local.websocket import Hub

    hub = Hub(types.SimpleNamespace(enforcing=True))  # type: ignore[arg-type]
    hub.bind(template, resolver)
    front = serve(types.SimpleNamespace(ws=hub), 0)  # type: ignore[arg-type]
    threading.Thread(target=front.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{front.server_address[1]}/_local/ws"

    def manage(operation: str, tamper: bool = False) -> Any:
        def call(credentials: iam.Credentials) -> None:
            client = boto3.client("apigatewaymanagementapi", endpoint_url=url, region_name="us-east-1",
                                  config=Config(retries={"max_attempts": 1}), **credentials.client_arguments())
            if tamper:
                def change(request: Any, **_: Any) -> None:
                    request.body = b'{"type":"other"}'
                    request.headers["Content-Length"] = str(len(request.body))
                client.meta.events.register("before-send", change)
            try:
                if operation == "post":
                    client.post_to_connection(ConnectionId="c_1", Data=b'{"type":"x"}')
                else:
                    client.delete_connection(ConnectionId="c_1")
            except client.exceptions.GoneException:
                return  # authorized; the connection is not open
        return call

    def unsigned(_c: Any) -> None:
        import requests
        from botocore.exceptions import ClientError

        reply = requests.post(f"{url}/@connections/c_1", data=b"{}", timeout=10)
        raise ClientError({"Error": {"Code": reply.headers.get("x-amzn-ErrorType") or str(reply.status_code)}},
                          "PostToConnection")

    try:
        for function, name, call in (
                ("ProcessorFunction", "post to a connection", manage("post")),
                ("ProcessorFunction", "close a connection", manage("delete")),
                ("ProcessorFunction", "post to a connection, body changed after signing", manage("post", tamper=True)),
                ("SurveyFunction", "post to a connection", manage("post")),
                ("TranscriptsFunction", "post to a connection", manage("post")),
                ("TimersFunction", "post to a connection", manage("post")),
                ("AgentApiFunction", "close a connection", manage("delete")),
                ("RetentionFunction", "close a connection", manage("delete")),
                ("RetentionFunction", "post to a connection", manage("post")),
                ("WhatsAppWebhookFunction", "post to a connection", manage("post"))):
            case(function, name, call)
        case("nobody", "an unsigned post to a connection", unsigned)
        case("nobody", "an unknown key to @connections", lambda _: manage("post")(iam.Credentials("AKIAUNKNOWN", "x")))
    finally:
        front.shutdown()
        front.server_close()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "layers" / "shared"))
    print(json.dumps(_run()))
