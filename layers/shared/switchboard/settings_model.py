"""The one settings model: every setting and secret, from the environment. Read through
`switchboard.settings.get_settings()`, which imports this module on its first call."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class MissingSetting(RuntimeError):
    """A function needs a setting its deployment did not give it: a configuration error, never the caller's. Raised
    where the setting is first used, naming its environment variable."""

    def __init__(self, variable: str):
        super().__init__(f"{variable} is not set: the function's environment (template.yaml Globals) must name it")
        self.variable = variable


def _required(value: str | None, variable: str) -> str:
    if not value:
        raise MissingSetting(variable)
    return value


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: str = Field("local", alias="STAGE")
    # The resources the template gives every function. No defaults: a function without one fails at its first use,
    # naming the variable, instead of calling AWS with an empty (or a guessed) name. Read them as the properties
    # below (`table_name`, ...).
    table_name_env: str | None = Field(None, alias="TABLE_NAME")
    inbound_queue_url_env: str | None = Field(None, alias="INBOUND_QUEUE_URL")
    outbound_queue_url_env: str | None = Field(None, alias="OUTBOUND_QUEUE_URL")
    media_bucket_env: str | None = Field(None, alias="MEDIA_BUCKET")
    # issue 17: voicemail transcripts. Amazon Transcribe job names start with it (switchboard-<stage>-), and the
    # template's EventBridge rule takes only those jobs' state changes: both from one !Sub.
    transcribe_job_prefix_env: str | None = Field(None, alias="TRANSCRIBE_JOB_PREFIX")
    channel: str = Field("", alias="CHANNEL", description="the webhook function's own channel")

    # Provider endpoints are settings so that the local stack can point them at its sandbox.
    whatsapp_api_base_url: str = Field("https://graph.facebook.com/v21.0", alias="WHATSAPP_API_BASE_URL")
    messenger_api_base_url: str = Field("https://graph.facebook.com/v21.0", alias="MESSENGER_API_BASE_URL")
    instagram_api_base_url: str = Field("https://graph.instagram.com/v21.0", alias="INSTAGRAM_API_BASE_URL")
    telegram_api_base_url: str = Field("https://api.telegram.org", alias="TELEGRAM_API_BASE_URL")
    twilio_api_base_url: str = Field("https://api.twilio.com", alias="TWILIO_API_BASE_URL")
    # The public URL providers call (Twilio signs it); webhook paths are appended to it.
    public_base_url: str = Field("", alias="PUBLIC_BASE_URL")
    email_recipient_domains: str = Field("", alias="EMAIL_RECIPIENT_DOMAINS", description="comma-separated; empty: any")
    email_from_address: str = Field("", alias="EMAIL_FROM_ADDRESS", description="replies' From (default: the address)")
    webchat_allowed_origins: str = Field("", alias="WEBCHAT_ALLOWED_ORIGINS", description="comma-separated; empty: any")
    webchat_token_seconds: int = Field(4 * 3600, alias="WEBCHAT_TOKEN_SECONDS")
    whatsapp_reply_template: str = Field("", alias="WHATSAPP_REPLY_TEMPLATE",
                                         description="name:language of an approved template whose body has one "
                                                     "parameter: agents' replies past the 24-hour window go in it")
    meta_human_agent_tag: bool = Field(False, alias="META_HUMAN_AGENT_TAG",
                                       description="Messenger and Instagram: agents may answer for 7 days with the "
                                                   "HUMAN_AGENT tag (needs Meta's Human Agent permission)")

    # templates capability: the WhatsApp Business Account whose templates are synced, and the business addresses a
    # conversation an agent starts is sent from when the contact has none on the channel yet
    whatsapp_business_account_id: str = Field("", alias="WHATSAPP_BUSINESS_ACCOUNT_ID",
                                              description="the WABA id: GET /{waba-id}/message_templates")
    whatsapp_phone_number_id: str = Field("", alias="WHATSAPP_PHONE_NUMBER_ID",
                                          description="the phone_number_id new WhatsApp conversations are sent from")
    sms_from_number: str = Field("", alias="SMS_FROM_NUMBER",
                                 description="E.164 number (or MG... Messaging Service SID) new SMS conversations use")

    # Secrets: a value straight from the environment (local stack, tests), else the SSM parameter name.
    meta_app_secret: str = Field("", alias="META_APP_SECRET")
    meta_app_secret_param: str = Field("", alias="META_APP_SECRET_PARAM")
    meta_verify_token: str = Field("", alias="META_VERIFY_TOKEN")
    meta_verify_token_param: str = Field("", alias="META_VERIFY_TOKEN_PARAM")
    whatsapp_access_token: str = Field("", alias="WHATSAPP_ACCESS_TOKEN")
    whatsapp_access_token_param: str = Field("", alias="WHATSAPP_ACCESS_TOKEN_PARAM")
    messenger_page_token: str = Field("", alias="MESSENGER_PAGE_TOKEN")
    messenger_page_token_param: str = Field("", alias="MESSENGER_PAGE_TOKEN_PARAM")
    instagram_access_token: str = Field("", alias="INSTAGRAM_ACCESS_TOKEN")
    instagram_access_token_param: str = Field("", alias="INSTAGRAM_ACCESS_TOKEN_PARAM")
    telegram_secret_token: str = Field("", alias="TELEGRAM_SECRET_TOKEN")
    telegram_secret_token_param: str = Field("", alias="TELEGRAM_SECRET_TOKEN_PARAM")
    telegram_bot_token: str = Field("", alias="TELEGRAM_BOT_TOKEN")
    telegram_bot_token_param: str = Field("", alias="TELEGRAM_BOT_TOKEN_PARAM")
    twilio_auth_token: str = Field("", alias="TWILIO_AUTH_TOKEN")
    twilio_auth_token_param: str = Field("", alias="TWILIO_AUTH_TOKEN_PARAM")
    twilio_account_sid: str = Field("", alias="TWILIO_ACCOUNT_SID")
    twilio_account_sid_param: str = Field("", alias="TWILIO_ACCOUNT_SID_PARAM")
    survey_signing_key: str = Field("", alias="SURVEY_SIGNING_KEY")
    survey_signing_key_param: str = Field("", alias="SURVEY_SIGNING_KEY_PARAM")
    survey_from_address: str = Field("", alias="SURVEY_FROM_ADDRESS")
    ses_configuration_set: str = Field("", alias="SES_CONFIGURATION_SET", description="publishes bounces and complaints")
    webchat_token_secret: str = Field("", alias="WEBCHAT_TOKEN_SECRET")
    webchat_token_secret_param: str = Field("", alias="WEBCHAT_TOKEN_SECRET_PARAM")

    max_webhook_body_bytes: int = Field(1_048_576, alias="MAX_WEBHOOK_BODY_BYTES")
    # Inbound dedupe markers must outlive the longest provider retry window (WhatsApp: 7 days).
    dedupe_ttl_seconds: int = Field(8 * 24 * 3600, alias="DEDUPE_TTL_SECONDS")
    # A send claimed longer ago than this, without an outcome, is never retried blind.
    send_lease_seconds: int = Field(120, alias="SEND_LEASE_SECONDS")
    # The outbound queue's maxReceiveCount: on that receive a still-retryable send is given up as failed, with its
    # reason, instead of going to the DLQ and staying "queued" where agents see nothing.
    send_max_attempts: int = Field(20, alias="SEND_MAX_ATTEMPTS")
    http_timeout_seconds: float = Field(10.0, alias="HTTP_TIMEOUT_SECONDS")
    http_max_retries: int = Field(3, alias="HTTP_MAX_RETRIES")
    media_max_bytes: int = Field(100 * 1024 * 1024, alias="MEDIA_MAX_BYTES")
    # Rich replies: the largest file an agent may send on web chat, and a visitor may attach (template parameter).
    webchat_max_file_bytes: int = Field(10 * 1024 * 1024, alias="WEBCHAT_MAX_FILE_BYTES", ge=1)
    default_retention_days: int = Field(365, alias="DEFAULT_RETENTION_DAYS")
    automation_defaults: str = Field("", alias="AUTOMATION_DEFAULTS",
                                     description="a partial settings document (JSON): the defaults before any admin edit")
    app_url: str = Field("", alias="APP_URL", description="the agents' app (issue 14: links in SLA warnings)")

    # Rate limits of the public routes, per client, counted in DynamoDB so that they hold across Lambda instances
    # (services/ratelimit.py). A client's address is API Gateway's sourceIp (an IPv6 address by its /64). 0: no limit.
    webchat_visitor_messages_per_minute: int = Field(20, ge=0, alias="WEBCHAT_VISITOR_MESSAGES_PER_MINUTE")
    webchat_visitor_messages_per_hour: int = Field(200, ge=0, alias="WEBCHAT_VISITOR_MESSAGES_PER_HOUR")
    webchat_address_messages_per_minute: int = Field(120, ge=0, alias="WEBCHAT_ADDRESS_MESSAGES_PER_MINUTE")
    webchat_address_sessions_per_hour: int = Field(20, ge=0, alias="WEBCHAT_ADDRESS_SESSIONS_PER_HOUR")
    survey_address_pages_per_minute: int = Field(30, ge=0, alias="SURVEY_ADDRESS_PAGES_PER_MINUTE")
    survey_address_posts_per_minute: int = Field(10, ge=0, alias="SURVEY_ADDRESS_POSTS_PER_MINUTE")
    # Contacts and search (issue 14): a phone number written without its country code (an agent's "(555) 123-4567")
    # is read as a number of this region (ISO 3166 alpha-2).
    phone_region: str = Field("US", alias="PHONE_REGION")

    # -- growth: entry links, events for other systems --------------------------------------------------------
    events_queue_url_env: str | None = Field(None, alias="EVENTS_QUEUE_URL")
    whatsapp_business_number: str = Field("", alias="WHATSAPP_BUSINESS_NUMBER", description="wa.me links' number")
    messenger_page_name: str = Field("", alias="MESSENGER_PAGE_NAME", description="m.me links' Page username")
    telegram_bot_username: str = Field("", alias="TELEGRAM_BOT_USERNAME", description="t.me links' bot")
    instagram_account: str = Field("", alias="INSTAGRAM_ACCOUNT", description="ig.me links' Instagram handle")
    webchat_page_url: str = Field("", alias="WEBCHAT_PAGE_URL", description="the page with the chat widget")
    frontend_origin: str = Field("", alias="FRONTEND_ORIGIN", description="where the app and widget.js are served")
    webhook_signing_key: str = Field("", alias="WEBHOOK_SIGNING_KEY")
    webhook_signing_key_param: str = Field("", alias="WEBHOOK_SIGNING_KEY_PARAM")
    local_webhook_allow_loopback: bool = Field(False, alias="LOCAL_WEBHOOK_ALLOW_LOOPBACK",
                                               description="the local stack only: endpoints on 127.0.0.1 (http)")
    webhook_timeout_seconds: float = Field(10.0, alias="WEBHOOK_TIMEOUT_SECONDS")
    # the live workspace (issue 15): the WebSocket API's @connections management endpoint (empty: no push), and who
    # may connect (the user pool's issuer and app client, for agents' tokens at $connect)
    websocket_management_url: str = Field("", alias="WEBSOCKET_MANAGEMENT_URL")
    push_timeout_seconds: float = Field(2.0, alias="PUSH_TIMEOUT_SECONDS")
    settings_cache_seconds: float = Field(30.0, alias="SETTINGS_CACHE_SECONDS", ge=0, description=(
        "how long a function instance keeps the admins' settings document before reading it again: how long a "
        "change may take to reach every function (the local stack: 2 s)"))
    ws_connection_seconds: int = Field(2 * 3600, alias="WS_CONNECTION_SECONDS",
                                       description="API Gateway closes a WebSocket after 2 hours: the items' TTL")
    cognito_user_pool_id: str = Field("", alias="COGNITO_USER_POOL_ID",
                                      description="empty only in the local stack, whose authorizer emulation "
                                                  "verifies agents' tokens at /ws")
    cognito_client_id: str = Field("", alias="COGNITO_CLIENT_ID")
    aws_region: str = Field("us-east-1", alias="AWS_REGION")

    @field_validator("local_webhook_allow_loopback", mode="before")
    @classmethod
    def _empty_is_false(cls, value: object) -> object:
        return False if value == "" else value  # the template declares it empty: deployed, never allowed

    def link_target(self, channel: str) -> str:
        """Where a channel's entry links point: the configured name, else (locally) an example one."""
        configured = {"whatsapp": self.whatsapp_business_number, "messenger": self.messenger_page_name,
                      "telegram": self.telegram_bot_username, "instagram": self.instagram_account,
                      "webchat": self.webchat_page_url}.get(channel, "")
        if configured or self.stage != "local":
            return configured
        return {"whatsapp": "15550001111", "messenger": "switchboard.local", "telegram": "switchboard_local_bot",
                "instagram": "switchboard.local",
                "webchat": f"{self.public_base_url.rstrip('/')}/widget-demo.html" if self.public_base_url
                else "http://127.0.0.1:3000/widget-demo.html"}.get(channel, "")

    @property
    def events_queue_url(self) -> str:
        return _required(self.events_queue_url_env, "EVENTS_QUEUE_URL")

    # help center (issue 18): where the static pages go and are served from, the queue that publishes them
    frontend_bucket_env: str | None = Field(None, alias="FRONTEND_BUCKET")
    frontend_distribution_id: str = Field("", alias="FRONTEND_DISTRIBUTION_ID",
                                          description="CloudFront distribution to invalidate; empty: no invalidation")
    help_site_url: str = Field("", alias="HELP_SITE_URL", description="the help center's public URL (…/help)")
    help_publish_queue_url_env: str | None = Field(None, alias="HELP_PUBLISH_QUEUE_URL")
    help_image_max_bytes: int = Field(5 * 1024 * 1024, alias="HELP_IMAGE_MAX_BYTES", ge=1)
    help_address_searches_per_minute: int = Field(60, ge=0, alias="HELP_ADDRESS_SEARCHES_PER_MINUTE")
    help_address_events_per_minute: int = Field(30, ge=0, alias="HELP_ADDRESS_EVENTS_PER_MINUTE")

    @property
    def frontend_bucket(self) -> str:
        return _required(self.frontend_bucket_env, "FRONTEND_BUCKET")

    @property
    def help_publish_queue_url(self) -> str:
        return _required(self.help_publish_queue_url_env, "HELP_PUBLISH_QUEUE_URL")

    @property
    def table_name(self) -> str:
        return _required(self.table_name_env, "TABLE_NAME")

    @property
    def inbound_queue_url(self) -> str:
        return _required(self.inbound_queue_url_env, "INBOUND_QUEUE_URL")

    @property
    def outbound_queue_url(self) -> str:
        return _required(self.outbound_queue_url_env, "OUTBOUND_QUEUE_URL")

    @property
    def media_bucket(self) -> str:
        return _required(self.media_bucket_env, "MEDIA_BUCKET")

    @property
    def transcribe_job_prefix(self) -> str:
        return _required(self.transcribe_job_prefix_env, "TRANSCRIBE_JOB_PREFIX")
