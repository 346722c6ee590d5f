"""The ops helpers in infra/scripts/: secrets found from template.yaml, DLQ peeks that never print bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

from tests.template.helpers import ROOT

SCRIPTS = ROOT / "infra" / "scripts"


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


put_secrets = script("put-secrets")
redrive_dlq = script("redrive-dlq")


@pytest.mark.parametrize("name", ["put-secrets", "redrive-dlq"])
def test_scripts_answer_help(name, capsys):
    module = put_secrets if name == "put-secrets" else redrive_dlq
    with pytest.raises(SystemExit) as done:
        module.parse_args(["--help"])
    assert done.value.code == 0 and "usage:" in capsys.readouterr().out


# -- put-secrets --------------------------------------------------------------------------------------
def test_secrets_are_discovered_from_the_template():
    secrets = {(s.channel, s.name): s for s in put_secrets.discover(ROOT / "template.yaml")}
    assert secrets[("whatsapp", "app-secret")].env == "META_APP_SECRET"
    assert secrets[("whatsapp", "verify-token")].env == "META_VERIFY_TOKEN"
    access = secrets[("whatsapp", "access-token")]
    assert access.env == "WHATSAPP_ACCESS_TOKEN" and set(access.functions) == {
        "ProcessorFunction", "SenderFunction", "AgentApiFunction", "TemplateSyncFunction",  # templates: the sync
        "WebSocketFunction"}  # issue 15: read receipts and typing shown to customers
    assert access.path("prod") == "/switchboard/prod/whatsapp/access-token"
    # A Meta app secret is per channel: the same variable may fill several channels' parameters
    assert {c for (c, n), s in secrets.items() if s.env == "META_APP_SECRET"} == {"whatsapp", "messenger", "instagram"}


@mock_aws
def test_secrets_are_put_as_securestrings_and_never_printed(monkeypatch):
    # Given the values in the environment, and no terminal to prompt on
    values = {"META_APP_SECRET": "app-secret-value-1", "META_VERIFY_TOKEN": "verify-value-2",
              "WHATSAPP_ACCESS_TOKEN": "token-value-3"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    ssm = boto3.client("ssm", region_name="us-east-1")
    out = io.StringIO()
    # When the script runs for dev
    assert put_secrets.run(put_secrets.parse_args(["--stage", "dev", "--no-prompt", "--only", "whatsapp"]), ssm, out) == 0
    # Then each is a SecureString under the stage's path, and no value was printed
    got = ssm.get_parameter(Name="/switchboard/dev/whatsapp/app-secret", WithDecryption=True)["Parameter"]
    assert got["Type"] == "SecureString" and got["Value"] == "app-secret-value-1"
    assert ssm.get_parameter(Name="/switchboard/dev/whatsapp/access-token",
                             WithDecryption=True)["Parameter"]["Value"] == "token-value-3"
    printed = out.getvalue()
    assert "3 put" in printed and not any(v in printed for v in values.values())
    listing = io.StringIO()
    assert put_secrets.run(put_secrets.parse_args(["--stage", "dev", "--list", "--only", "whatsapp"]), ssm, listing) == 0
    assert "MISSING" not in listing.getvalue() and not any(v in listing.getvalue() for v in values.values())


@mock_aws
def test_a_missing_value_without_a_terminal_is_an_error_and_list_reports_it(monkeypatch):
    for key in ("META_APP_SECRET", "META_VERIFY_TOKEN", "WHATSAPP_ACCESS_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    ssm = boto3.client("ssm", region_name="us-east-1")
    with pytest.raises(put_secrets.ScriptError, match="is not set"):
        put_secrets.run(put_secrets.parse_args(["--stage", "dev", "--no-prompt", "--only", "whatsapp"]), ssm, io.StringIO())
    with pytest.raises(put_secrets.ScriptError, match="no parameters for channel"):
        put_secrets.run(put_secrets.parse_args(["--stage", "dev", "--only", "carrier-pigeon"]), ssm, io.StringIO())
    listing = io.StringIO()
    assert put_secrets.run(put_secrets.parse_args(["--stage", "prod", "--list", "--only", "telegram"]), ssm, listing) == 1
    assert listing.getvalue().count("MISSING") == 2


# -- redrive-dlq --------------------------------------------------------------------------------------
class FakeCloudFormation:
    """describe_stacks with outputs, or (outputs=False) only describe_stack_resource, as an older stack."""

    def __init__(self, queues: dict[str, tuple[str, str]], outputs: bool = True):
        self.queues, self.outputs = queues, outputs

    def describe_stacks(self, StackName):
        outputs = []
        if self.outputs:
            for logical, (url, arn) in self.queues.items():
                outputs += [{"OutputKey": f"{logical}Url", "OutputValue": url},
                            {"OutputKey": f"{logical}Arn", "OutputValue": arn}]
        return {"Stacks": [{"StackName": StackName, "Outputs": outputs}]}

    def describe_stack_resource(self, StackName, LogicalResourceId):
        return {"StackResourceDetail": {"PhysicalResourceId": self.queues[LogicalResourceId][0]}}


class RecordingSqs:
    """The moto client, plus the move-task calls moto does not implement, recorded."""

    def __init__(self, sqs):
        self.sqs, self.moves = sqs, []

    def __getattr__(self, name):
        return getattr(self.sqs, name)

    def start_message_move_task(self, **kwargs):
        self.moves.append(kwargs)
        return {"TaskHandle": "handle-1"}


def queues(sqs, fifo: bool) -> dict[str, tuple[str, str]]:
    suffix, attrs = (".fifo", {"FifoQueue": "true"}) if fifo else ("", {})
    made = {}
    for logical in ("OutboundDLQ", "OutboundQueue") if fifo else ("InboundDLQ", "InboundQueue"):
        url = sqs.create_queue(QueueName=f"sb-{logical}{suffix}", Attributes=attrs)["QueueUrl"]
        made[logical] = (url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    return made


@pytest.fixture
def sqs(monkeypatch):
    monkeypatch.setattr(redrive_dlq, "PEEK_WAIT_SECONDS", 0)
    with mock_aws():
        yield RecordingSqs(boto3.client("sqs", region_name="us-east-1"))


@pytest.mark.parametrize("outputs", [True, False], ids=["from-outputs", "from-resources"])
def test_peek_shows_ids_and_sizes_but_never_bodies_and_leaves_messages_visible(sqs, outputs):
    # Given a DLQ holding customers' messages
    made = queues(sqs, fifo=False)
    dlq_url = made["InboundDLQ"][0]
    bodies = [json.dumps({"text": f"private message {i}"}) for i in range(3)]
    ids = [sqs.send_message(QueueUrl=dlq_url, MessageBody=b)["MessageId"] for b in bodies]
    out = io.StringIO()
    # When an operator peeks
    args = redrive_dlq.parse_args(["--queue", "inbound", "--stage", "dev", "--peek", "5"])
    assert redrive_dlq.run(args, FakeCloudFormation(made, outputs), sqs, out) == 0
    # Then ids and sizes show, no body does, and the messages are still there to redrive
    printed = out.getvalue()
    assert "InboundDLQ of switchboard-dev: 3 waiting" in printed
    assert all(i in printed for i in ids) and str(len(bodies[0].encode())) in printed
    assert "private message" not in printed
    assert redrive_dlq.counts(sqs, dlq_url) == {"visible": 3, "in_flight": 0}


def test_redrive_moves_the_dlq_back_to_its_source(sqs):
    made = queues(sqs, fifo=True)
    sqs.send_message(QueueUrl=made["OutboundDLQ"][0], MessageBody="{}", MessageGroupId="cv_1", MessageDeduplicationId="m1")
    args = redrive_dlq.parse_args(["--queue", "outbound", "--stage", "prod", "--redrive", "--yes", "--max-per-second", "5"])
    out = io.StringIO()
    assert redrive_dlq.run(args, FakeCloudFormation(made), sqs, out) == 0
    assert sqs.moves == [{"SourceArn": made["OutboundDLQ"][1], "MaxNumberOfMessagesPerSecond": 5}]
    assert "redrive started" in out.getvalue()


def test_redrive_without_a_terminal_needs_yes(sqs, monkeypatch):
    made = queues(sqs, fifo=False)
    sqs.send_message(QueueUrl=made["InboundDLQ"][0], MessageBody="{}")
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    args = redrive_dlq.parse_args(["--queue", "inbound", "--stage", "dev", "--redrive"])
    with pytest.raises(redrive_dlq.ScriptError, match="--yes"):
        redrive_dlq.run(args, FakeCloudFormation(made), sqs, io.StringIO())
    assert sqs.moves == []


def test_an_empty_dlq_is_not_redriven(sqs):
    made = queues(sqs, fifo=False)
    args = redrive_dlq.parse_args(["--queue", "inbound", "--stage", "dev", "--redrive", "--yes"])
    out = io.StringIO()
    assert redrive_dlq.run(args, FakeCloudFormation(made), sqs, out) == 0
    assert sqs.moves == [] and "nothing to redrive" in out.getvalue()


def test_script_paths_are_executable():
    for path in (SCRIPTS / "put-secrets.py", SCRIPTS / "redrive-dlq.py"):
        assert Path(path).stat().st_mode & 0o111, path


# -- webchat-identity-key ------------------------------------------------------------------------------
def test_the_identity_key_vouches_for_emails_and_cannot_sign_visitor_tokens(monkeypatch, capsys):
    from switchboard.channels import webchat
    from switchboard.errors import Unauthorized

    identity_key = script("webchat-identity-key")
    monkeypatch.setenv("WEBCHAT_TOKEN_SECRET", "test-webchat-secret")
    assert identity_key.main([]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == webchat.identity_key() and len(printed) == 64 and "test-webchat-secret" not in printed
    # What the website's backend computes with it is what the session API accepts...
    hashed = hmac.new(printed.encode(), b"ann@example.com", hashlib.sha256).hexdigest()
    assert webchat.identity_vouched("Ann@Example.com", hashed)
    # ...and a visitor token signed with it (or with the secret itself) is refused
    body = base64.urlsafe_b64encode(json.dumps({"v": "v_x", "w": "default", "x": 4102444800}).encode()).decode()
    for key in (printed.encode(), b"test-webchat-secret"):
        signature = base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest()).decode()
        with pytest.raises(Unauthorized):
            webchat.read_token(f"Bearer {body.rstrip('=')}.{signature.rstrip('=')}")
    monkeypatch.delenv("WEBCHAT_TOKEN_SECRET")
    assert identity_key.main([]) == 2
