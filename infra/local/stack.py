"""Assembles the local stack: the AWS stand-in, the template's resources, functions, pollers, HTTP front."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from infra.local import iam, resources
from infra.local.lambdas import Function, http_routes, load_functions
from infra.local.pollers import Schedule, SqsSource, note_set_by_function, run_scheduled, schedule_seconds
from infra.local.sandbox import Sandbox
from infra.local.server import serve
from infra.local.template import Resolver, function_properties, load
from infra.local.transcribe import LocalTranscribe, targets
from infra.local.websocket import Hub
from infra.local.workers import ProcessFunction, start_forkserver

log = logging.getLogger("local")

# Local defaults of the channel secrets (documented in the README); the environment overrides them.
LOCAL_SECRETS = {
    "META_APP_SECRET": "local-meta-app-secret",
    "META_VERIFY_TOKEN": "local-verify-token",
    "WHATSAPP_ACCESS_TOKEN": "local-whatsapp-token",
    "TELEGRAM_SECRET_TOKEN": "local-telegram-secret",
    "TELEGRAM_BOT_TOKEN": "123456:local-telegram-bot-token",
    "TWILIO_AUTH_TOKEN": "local-twilio-token",
    "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000000",
    "SURVEY_SIGNING_KEY": "local-survey-signing-key",
    "MESSENGER_PAGE_TOKEN": "local-messenger-page-token",
    "INSTAGRAM_ACCESS_TOKEN": "local-instagram-token",
    "WEBCHAT_TOKEN_SECRET": "local-webchat-token-secret",
    "WEBHOOK_SIGNING_KEY": "local-webhook-signing-key",  # growth: event endpoints' secrets derive from it
}
# The address surveys and email replies come from, verified in the AWS stand-in as SES requires.
LOCAL_SENDER = "support@switchboard.local"
# Each provider's base URL setting points at the sandbox (with the path prefix its real base URL has).
SANDBOX_CHANNELS = {"whatsapp": "/v21.0", "messenger": "/v21.0", "instagram": "/v21.0", "telegram": "", "twilio": ""}
# Per-function variables that make no sense in one shared process (secrets come from LOCAL_SECRETS instead).
PER_FUNCTION = ("CHANNEL",)
# Template parameters a developer sets locally through the environment (the template's default is empty).
FROM_ENVIRONMENT = ("EMAIL_RECIPIENT_DOMAINS", "WEBCHAT_ALLOWED_ORIGINS")
# templates capability: the business's WhatsApp account and numbers locally (the sandbox answers for any), the same
# ones infra/scripts/send-webhook.py writes to; each can be set through the environment.
LOCAL_BUSINESS = {"WHATSAPP_BUSINESS_ACCOUNT_ID": "300000000000003", "WHATSAPP_PHONE_NUMBER_ID": "200000000000002",
                  "SMS_FROM_NUMBER": "+15550001111"}
# What every function gets locally whatever the template says: the stage, no X-Ray, the providers in the sandbox.
ALWAYS_LOCAL = ("STAGE", "POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_DEV", "SETTINGS_CACHE_SECONDS",
                *(f"{channel.upper()}_API_BASE_URL" for channel in SANDBOX_CHANNELS))


def local_environment(functions: dict[str, Function], sandbox: Sandbox, base_url: str,
                      overrides: Any) -> dict[str, str]:
    """Every function's variables in one environment, secrets as values, providers in the sandbox: the integration
    tier runs every function in its one process with it; the local stack takes each function's own from it."""
    env: dict[str, str] = {}
    for fn in functions.values():
        for key, value in fn.environment.items():
            if key not in PER_FUNCTION and not key.endswith("_PARAM"):
                env[key] = value
    env |= {"STAGE": "local", "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_DEV": "false",
            "PUBLIC_BASE_URL": overrides.get("PUBLIC_BASE_URL") or base_url}
    for channel, suffix in SANDBOX_CHANNELS.items():
        env[f"{channel.upper()}_API_BASE_URL"] = sandbox.channel_base(channel) + suffix
    for key, value in LOCAL_SECRETS.items():
        env[key] = overrides.get(key) or value
    for key in ("SURVEY_FROM_ADDRESS", "EMAIL_FROM_ADDRESS"):
        env[key] = overrides.get(key) or LOCAL_SENDER
    for key in FROM_ENVIRONMENT:
        if overrides.get(key):
            env[key] = overrides[key]
    for key, value in LOCAL_BUSINESS.items():
        env[key] = overrides.get(key) or env.get(key) or value
    # growth: event endpoints on this machine (a test receiver on 127.0.0.1) are allowed locally, never deployed
    env["LOCAL_WEBHOOK_ALLOW_LOOPBACK"] = overrides.get("LOCAL_WEBHOOK_ALLOW_LOOPBACK") or "1"
    # an admin's change of settings reaches every function within 2 s locally (30 s deployed: one read per instance)
    env["SETTINGS_CACHE_SECONDS"] = overrides.get("SETTINGS_CACHE_SECONDS") or "2"
    # issue 15: pushes go to this stack's @connections API (infra/local/websocket.py); agents' tokens at /ws are
    # checked by its authorizer emulation, so no user pool is named
    env["WEBSOCKET_MANAGEMENT_URL"] = f"{base_url}/_local/ws"
    env["COGNITO_USER_POOL_ID"] = env["COGNITO_CLIENT_ID"] = ""
    # help center: the pages are served by this stack at /help/; there is no CloudFront to invalidate (a no-op)
    env["HELP_SITE_URL"] = overrides.get("HELP_SITE_URL") or f"{base_url}/help"
    env["FRONTEND_DISTRIBUTION_ID"] = overrides.get("FRONTEND_DISTRIBUTION_ID") or ""
    return env


def function_environment(fn: Function, shared: dict[str, str], developer: dict[str, str],
                         secrets_in_ssm: bool) -> dict[str, str]:
    """One function's own variables, as the template declares them for it, with the stack's local values where it has
    them (`shared`, from local_environment). Its secrets: the SSM parameter names the template gives it, when the
    stack has put the local secrets there, else their values. Then the settings a developer set (`developer`)."""
    env: dict[str, str] = {}
    for key, value in fn.environment.items():
        if not key.endswith("_PARAM"):
            env[key] = shared.get(key, value)
        elif secrets_in_ssm:
            env[key] = value
        elif key.removesuffix("_PARAM") in shared:
            env[key.removesuffix("_PARAM")] = shared[key.removesuffix("_PARAM")]
    env |= {key: shared[key] for key in ALWAYS_LOCAL if key in shared}
    return env | developer


def developer_settings(environ: Any, declared: set[str]) -> dict[str, str]:
    """Settings a developer set in the stack's environment (SEND_LEASE_SECONDS=15 make dev) that the template does not
    declare: every function gets them, as the one shared process used to."""
    from switchboard.settings_model import Settings

    aliases = {f.alias for f in Settings.model_fields.values() if f.alias}
    skip = declared | set(LOCAL_SECRETS) | set(PER_FUNCTION) | {"STAGE", "PUBLIC_BASE_URL"}
    return {k: v for k, v in environ.items() if k in aliases and k not in skip and not k.endswith("_PARAM")}


def scale_sdk_backoff(scale: float) -> None:
    """Multiply the AWS SDK's retry backoff by `scale` (LOCAL_AWS_BACKOFF_SCALE). The same retries happen, with
    the same retry quota, only the waits between them are shorter: for tests that fail AWS requests on purpose,
    where one local execution environment per function would otherwise spend minutes asleep."""
    from botocore.retries import standard

    original = standard.ExponentialBackoff.delay_amount
    if getattr(original, "scaled", False):
        return

    def delay_amount(self: Any, context: Any) -> float:
        return float(original(self, context)) * scale

    delay_amount.scaled = True  # type: ignore[attr-defined]
    standard.ExponentialBackoff.delay_amount = delay_amount  # type: ignore[method-assign]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalStack:
    def __init__(self, root: Path, port: int, endpoint: str | None = None, template: Path | None = None):
        self.root = root.resolve()  # the project: the shared layer and the frontend
        self.template_path = (template or root / "template.yaml").resolve()  # code URIs are relative to it, as in SAM
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.endpoint = endpoint
        self.moto: Any = None
        self.sandbox = Sandbox(self.base_url)
        self.functions: dict[str, ProcessFunction] = {}
        self.sources: list[SqsSource] = []
        self.schedules: list[Schedule] = []
        self.threads: list[threading.Thread] = []
        self.server: Any = None
        self.clock: Any = None
        self.clock_offset = 0.0  # what POST /_local/clock added: sent to every function with each invocation
        self.enforcing = False
        self.admin: iam.Credentials | None = None
        self.credentials: dict[str, iam.Credentials] = {}
        self.roles: dict[str, str] = {}  # each function's role ARN
        self.why_not = ""
        self.resolver: Resolver | None = None
        self.sqs: Any = None
        self.secrets_ready = threading.Event()  # the local secrets are in SSM (or the functions get their values)
        self.ws = Hub(self)  # issue 15: the WebSocket API at /ws
        self.transcribe: LocalTranscribe | None = None  # issue 17: Amazon Transcribe's jobs finished, their events
        self.transcribe_stop = threading.Event()

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.enforcing, self.why_not = iam.wanted(os.environ.get("LOCAL_IAM"), external_endpoint=bool(self.endpoint))
        if not self.endpoint:
            from moto.server import ThreadedMotoServer

            from infra.local import moto_speedups

            moto_speedups.apply()
            moto_port = free_port()
            self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
            self.moto.start()
            self.endpoint = f"http://127.0.0.1:{moto_port}"
        os.environ.update({"AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": "us-east-1",
                           "AWS_REGION": "us-east-1"})
        if self.enforcing:
            self.admin = iam.admin_credentials()
            iam.enforce()
            os.environ.pop("AWS_SESSION_TOKEN", None)
            os.environ.update(self.admin.environment())  # the stack's own calls, as an administrator
            log.info("IAM: each function works with its own role from the template (LOCAL_IAM=off turns this off)")
        else:
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
            log.warning("IAM roles are not enforced: %s; every function works with the stack's credentials", self.why_not)
        if os.environ.get("LOCAL_AWS_BACKOFF_SCALE"):
            scale_sdk_backoff(float(os.environ["LOCAL_AWS_BACKOFF_SCALE"]))
        import boto3

        clients = {name: boto3.client(name) for name in ("dynamodb", "sqs", "s3")}
        self.sqs = clients["sqs"]
        template = load(self.template_path)
        self.resolver = resolver = Resolver(template)
        # Rich replies: the media bucket's CORS rules name the frontend's origin, which locally is this stack's.
        resolver.parameters["FrontendOrigin"] = self.base_url
        resolver.parameters["WebchatAllowedOrigins"] = os.environ.get("WEBCHAT_ALLOWED_ORIGINS", "")
        resources.create_all(template, resolver, clients)
        self.ws.bind(template, resolver)  # issue 15: the WebSocket API and stage its roles' statements name
        boto3.client("sesv2").create_email_identity(EmailIdentity=LOCAL_SENDER.split("@", 1)[1])
        functions = load_functions(self.template_path.parent, template, resolver)
        if self.enforcing:
            for name in functions:
                role = iam.role_id(function_properties(template, name))
                self.credentials[name], self.roles[name] = iam.function_credentials(template, resolver, name, role)
        self._functions(functions)
        from switchboard import clock

        self.clock = clock
        self.routes = http_routes(template, self.functions)
        self._event_sources(resolver)
        self._transcribe(resolver, clients["s3"])
        self.server = serve(self, self.port)
        self._thread(self.server.serve_forever, "http")
        self._thread(start_forkserver, "forkserver")  # the workers' parent, with the common libraries loaded

    def _functions(self, functions: dict[str, Function]) -> None:
        """A worker process per function, with its own variables and credentials; local secrets in SSM when the
        roles are enforced, so that each function reads only the parameters its role names, as deployed."""
        shared = local_environment(functions, self.sandbox, self.base_url, os.environ)
        declared = {key for fn in functions.values() for key in fn.environment}
        developer = developer_settings(os.environ, declared)
        parameters = {name: shared[key.removesuffix("_PARAM")] for fn in functions.values()
                      for key, name in fn.environment.items()
                      if key.endswith("_PARAM") and shared.get(key.removesuffix("_PARAM"))}
        if self.enforcing:
            # In the background: the AWS stand-in's SSM loads slowly (1.5 s), and only a cold start needs it.
            self._thread(lambda: self._put_secrets(parameters), "secrets")
        else:
            self.secrets_ready.set()
        local = {key: os.environ[key] for key in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
                                                   "LOCAL_AWS_BACKOFF_SCALE") if os.environ.get(key)}
        stack_credentials = {key: os.environ[key] for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                               "AWS_SESSION_TOKEN") if os.environ.get(key)}
        for name, fn in functions.items():
            credentials = self.credentials[name].environment() if name in self.credentials else stack_credentials
            lambda_variables = {"AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
                                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}", "TZ": "UTC"}
            variables = function_environment(fn, shared, developer, secrets_in_ssm=self.enforcing)
            process_environment = variables | local | credentials | lambda_variables
            self.functions[name] = ProcessFunction(
                name=name, code_dir=fn.code_dir, handler_name=fn.handler_name, memory=fn.memory, timeout=fn.timeout,
                environment=fn.environment, events=fn.events, process_environment=process_environment,
                clock_offset=lambda: self.clock_offset, on_visibility_change=note_set_by_function,
                before_start=self._wait_for_secrets if any(k.endswith("_PARAM") for k in fn.environment) else None)

    def _put_secrets(self, parameters: dict[str, str]) -> None:
        import boto3

        try:
            ssm = boto3.client("ssm")
            for name, value in parameters.items():
                ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        finally:
            self.secrets_ready.set()

    def _wait_for_secrets(self) -> None:
        self.secrets_ready.wait(120)

    def _event_sources(self, resolver: Resolver) -> None:
        import boto3

        for fn in self.functions.values():
            for event in fn.events.values():
                props = event.get("Properties") or {}
                if event.get("Type") == "SQS":
                    arn = resolver.resolve(props["Queue"])
                    reports = "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])
                    # Lambda's event source mapping polls with the function's role (hence its Consume* statement).
                    sqs = (boto3.client("sqs", **self.credentials[fn.name].client_arguments())
                           if fn.name in self.credentials else self.sqs)
                    source = SqsSource(function=fn, queue_url=resources.queue_url_by_arn(resolver, arn), queue_arn=arn,
                                       batch_size=int(props.get("BatchSize", 10)), report_failures=reports, sqs=sqs)
                    self.sources.append(source)
                    self._thread(source.run, f"sqs-{fn.name}")
                elif event.get("Type") in ("Schedule", "ScheduleV2"):
                    seconds = schedule_seconds(str(props.get("ScheduleExpression", "")))
                    if seconds:
                        schedule = Schedule(function=fn, every_seconds=seconds, on_run=run_scheduled)
                        self.schedules.append(schedule)
                        self._thread(schedule.run, f"schedule-{fn.name}")

    def _transcribe(self, resolver: Resolver, s3: Any) -> None:
        """issue 17: voicemail transcripts. moto starts Transcribe jobs and never finishes them: the stack does (the
        sandbox's transcript), and delivers their events to the template's EventBridge rule (infra/local/transcribe.py).
        Only with the in-process AWS stand-in, whose jobs it can see."""
        if self.moto is None:
            log.warning("Amazon Transcribe is not emulated with an external AWS endpoint: voicemails stay untranscribed")
            return
        self.transcribe = LocalTranscribe(targets(self.functions, resolver), s3)
        self._thread(lambda: self.transcribe.run(self.transcribe_stop) if self.transcribe else None, "transcribe")

    def _thread(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def advance_clock(self, seconds: float) -> None:
        self.clock_offset += seconds
        self.clock.advance(seconds)

    # -- controls ------------------------------------------------------------------------------
    def run_now(self, name: str, settle_seconds: float = 60.0) -> Any:
        """Run a function as its schedule would, then wait until the queue work it caused is done."""
        result = run_scheduled(self.functions[name])
        self.wait_idle(settle_seconds)
        return result

    def queue_depths(self) -> dict[str, dict[str, int]]:
        depths = {}
        for source in self.sources:
            attrs = self.sqs.get_queue_attributes(QueueUrl=source.queue_url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            depths[source.function.name] = {"visible": int(attrs["ApproximateNumberOfMessages"]),
                                            "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"]),
                                            "busy": int(source.busy)}
        return depths

    def iam_status(self) -> dict[str, Any]:
        """Whether the roles are enforced, and each function's role (GET /_local/iam)."""
        return {"enforced": self.enforcing, "reason": None if self.enforcing else self.why_not,
                "roles": {name: self.roles.get(name) for name in self.functions}}

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            busy = any(d["visible"] or d["in_flight"] or d["busy"] for d in self.queue_depths().values())
            busy = busy or bool(self.transcribe and self.transcribe.pending())  # a voicemail's transcript to come
            quiet = 0 if busy else quiet + 1
            if quiet >= 2:
                return True
            time.sleep(0.2)
        return False

    def sent_emails(self) -> list[dict[str, Any]]:
        """Emails sent through SES, read from the in-process AWS stand-in."""
        if self.moto is None:
            return []
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        import email
        import email.policy

        items = []
        for message in backend.sent_messages:
            raw = getattr(message, "raw_data", None)
            parsed = email.message_from_string(raw, policy=email.policy.default) if raw else None
            destinations = getattr(message, "destinations", None) or {}
            to = destinations.get("ToAddresses", []) if isinstance(destinations, dict) else list(destinations)
            to = list(dict.fromkeys(to))  # the stand-in lists a raw message's recipients once per header they are in
            items.append({"source": getattr(message, "source", None), "to": to or ([parsed["To"]] if parsed else []),
                          "subject": getattr(message, "subject", None) or (parsed["Subject"] if parsed else None),
                          "raw": raw})
        return items

    def deliver_email(self, raw: bytes, wait: bool = True) -> tuple[int, dict[str, Any]]:
        """Deliver a raw message as SES receiving would: object in the bucket, then the email function; with `wait`,
        answer once the queue work it caused is done (tests), else at once (the seed script's thousands)."""
        fn = self.functions.get("EmailFunction")
        if fn is None:
            return 501, {"error": {"code": "not_implemented", "message": "the template has no EmailFunction yet"}}
        from infra.local.events import ses_event

        message_id = uuid.uuid4().hex
        bucket = self.resolver.refs["MediaBucket"] if self.resolver else ""
        import boto3

        boto3.client("s3").put_object(Bucket=bucket, Key=f"inbound-email/{message_id}", Body=raw)  # as SES, not a role
        result = fn.invoke(ses_event(raw, message_id, bucket))
        if wait:
            self.wait_idle(30)
        return 200, {"message_id": message_id, "result": result}

    def stop(self) -> None:
        for stop in (*(s.stop for s in self.sources), *(s.stop for s in self.schedules), self.transcribe_stop):
            stop.set()
        self.ws.close_all()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
        for fn in self.functions.values():
            fn.stop()
        if self.moto:
            self.moto.stop()
