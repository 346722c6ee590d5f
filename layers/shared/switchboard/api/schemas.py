"""The agent API's request and response models (the OpenAPI document is generated from these)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from switchboard.channel_names import Channel
from switchboard.models import Attachment, Conversation, ConversationCard, Location, Message, Source

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ErrorBody(ApiModel):
    code: str
    message: str


class ErrorResponse(ApiModel):
    error: ErrorBody


class Health(ApiModel):
    status: Literal["ok"] = "ok"


CHANNEL_LABELS = {"whatsapp": "WhatsApp", "messenger": "Messenger", "instagram": "Instagram", "telegram": "Telegram",
                  "sms": "SMS", "email": "Email", "webchat": "Web chat"}


def address_label(channel: str, address: str | None) -> str | None:
    """How to show a customer known only by their address on a channel: a phone number or an email address as it
    is, an opaque channel id (a PSID, a chat id) with its channel's name, so that agents can tell customers apart."""
    if not address:
        return None
    if channel == "whatsapp" and address.isascii() and address.isdigit():
        return f"+{address}"  # a wa_id is the phone number without its +
    if channel in ("sms", "email", "voice"):  # voice: a caller's number (issue 17)
        return address
    return f"{CHANNEL_LABELS.get(channel, channel)} {address}"


class ContactRef(ApiModel):
    id: str
    name: str | None = None
    display: str = Field("", description="what to call the contact: the name, else the phone number, email "
                                         "address, handle or channel id the conversation knows; never empty")

    @classmethod
    def of(cls, conv: Conversation | ConversationCard) -> ContactRef:
        """The contact of a conversation, as the conversation knows it."""
        return cls(id=conv.contact_id, name=conv.contact_name, display=conv.contact_name or address_label(
            conv.channel, conv.recipient) or f"Contact {conv.contact_id}")


class LastMessage(ApiModel):
    text: str
    direction: Literal["inbound", "outbound"]
    created_at: str


class ConversationSummary(ApiModel):
    id: str
    channel: str
    status: Literal["open", "pending", "resolved", "snoozed"]
    contact: ContactRef
    assignee: str | None = None
    labels: list[str] = []
    last_message: LastMessage | None = None
    updated_at: str
    unread_count: int = 0
    # issue 14: the inbox (GET /api/inboxes names it) and its team, which the conversation's team is
    inbox: str | None = Field(None, description="the inbox's id (GET /api/inboxes)")
    team: str | None = Field(None, description="the team of its inbox (GET /api/teams), if any")
    # Organizing the queue (issue 14)
    priority: Literal["urgent", "high", "normal", "low"] = "normal"
    snoozed_until: str | None = Field(None, description="snoozed: when it wakes (back to open)")
    waiting_since: str | None = Field(None, description="since when the customer waits for an answer (null: nobody "
                                                        "waits)")
    sla: SlaOut | None = Field(None, description="the SLA targets of this cycle; null when none runs")
    attributes: dict[str, Any] = Field({}, description="custom attributes (GET /api/attributes)")
    source: Source | None = Field(None, description="growth: where it came from (an entry link, an ad, a web page)")
    kind: Literal["message", "comment"] = Field("message", description="issue 17: comment, a public comment thread "
                                                "under a Facebook or Instagram post (answered with a visibility); "
                                                "message, every other conversation")

    @classmethod
    def of(cls, conv: Conversation) -> ConversationSummary:
        from switchboard.services.sla import view

        return cls(id=conv.id, channel=conv.channel, status=conv.status,
                   contact=ContactRef.of(conv), assignee=conv.assignee,
                   labels=conv.labels, last_message=LastMessage.model_validate(conv.last_message)
                   if conv.last_message else None, updated_at=conv.updated_at, unread_count=conv.unread_count,
                   inbox=conv.inbox,
                   priority=conv.priority, snoozed_until=conv.snoozed_until, waiting_since=conv.waiting_since,
                   sla=view(conv.sla), attributes=conv.attributes, source=conv.source,
                   team=conv.team,  # issue 19: a rule's or macro's team (else the inbox's: api/inboxes.with_teams)
                   kind=conv.kind)  # issue 17


class ConversationPage(ApiModel):
    items: list[ConversationSummary]
    next_cursor: str | None = None


class PostOut(ApiModel):  # issue 17
    id: str
    permalink: str | None = Field(None, description="the post on Facebook or Instagram")
    text: str | None = Field(None, description="the post's caption or message")
    thumbnail: str | None = Field(None, description="a short-lived presigned link to our copy of its picture, once "
                                                    "stored")


class ConversationDetail(ConversationSummary):
    inbox_id: str
    created_at: str
    last_inbound_at: str | None = None
    first_response_at: str | None = None
    resolved_at: str | None = None
    resolved_by: str | None = None
    reply_window_closes_at: str | None = Field(
        None, description="when free-form replies stop being allowed; null for channels without a window")
    reply_window_open: bool = True
    blocked: bool = Field(False, description="the customer blocked us on this channel")
    subject: str | None = Field(None, description="email: the thread's subject")
    rating: int | None = Field(None, ge=1, le=5, description="the customer's survey rating of its last resolution")
    rating_comment: str | None = Field(None, description="the comment the customer added to that rating")
    post: PostOut | None = Field(None, description="kind comment: the post the thread is under (issue 17)")
    mention: bool = Field(False, description="kind comment: Instagram, the business was mentioned in a comment on "
                                             "someone else's post")


class AttachmentOut(ApiModel):
    kind: str
    filename: str | None = None
    mime_type: str | None = None
    size: int | None = None
    status: str
    url: str | None = Field(None, description="a short-lived presigned link, once stored")


class StoryOut(ApiModel):  # issue 17
    kind: Literal["mention", "reply"]
    url: str | None = Field(None, description="a short-lived presigned link to our copy of the story's media, once "
                                              "stored")
    expires_at: str = Field(description="when the story (and Instagram's own link) expires")
# -- rich replies (issue 13): quoted replies and choices -------------------------------------------------------------
class QuotedMessage(ApiModel):
    id: str
    direction: Literal["inbound", "outbound"]
    text: str = Field(description="the start of what it said (or what it was: [image], [deleted])")
    sender: str | None = None
    created_at: str


class Choice(ApiModel):
    id: str
    title: str


class MessageOut(ApiModel):
    id: str
    direction: Literal["inbound", "outbound"]
    type: str
    text: str
    attachments: list[AttachmentOut] = []
    location: Location | None = None
    reply_to: str | None = None
    reaction: str | None = None
    payload: str | None = Field(None, description="the payload of the button, quick reply or postback the customer chose")
    created_at: str
    status: str
    failure_reason: str | None = None
    sender: str | None = Field(None, description="inbound: the customer's name; outbound: the agent's email, "
                               "automation:<kind>, or external:<where> for a message the business sent elsewhere")
    edited: bool = False
    deleted: bool = Field(False, description="the customer unsent it: its content is gone")
    summary: str | None = Field(None, description="what to show for content that is not text ('Order: 2 items')")
    auto_submitted: str | None = Field(None, description="inbound mail sent by a machine, and why: 'auto_replied' "
                                       "(out of office), 'auto_generated', 'list', 'bulk'. Never answered by automation")
    authentication: dict[str, str] | None = Field(
        None, description="email: the receiving server's verdicts {'spf', 'dkim', 'dmarc'}: PASS, FAIL, GRAY or "
                          "PROCESSING_FAILED (and 'dmarc_policy' when DMARC failed)")
    template: dict | None = Field(None, description="sent as this WhatsApp template: {'name', 'language', "
                                                    "'components'}; `text` is its rendered body")
    warnings: list[str] = Field([], description="what agents should know before trusting it: 'spf_fail', "
                                "'dkim_fail', 'dmarc_fail' (the sender may be forged), '<check>_unverified' (the check "
                                "could not be made)")
    # issue 17: voicemail
    transcript: str | None = Field(None, description="voice: the voicemail's transcription, when there is one")
    transcript_status: Literal["pending", "completed", "failed"] | None = Field(
        None, description="voice: the voicemail's transcription (Amazon Transcribe): pending (the words follow, pushed "
                          "as message.updated), completed (`transcript` holds the words; absent when nothing was "
                          "said) or failed; null when it is not transcribed")
    story: StoryOut | None = Field(None, description="Instagram: the story this message mentions us in or replies "
                                   "to (its media, our copy, is also among the attachments)")
    # rich replies (issue 13): what it quotes, how often it was retried, the buttons it offered
    quoted: QuotedMessage | None = Field(None, description="the message it quotes (a quoted reply), as it was")
    attempt: int = Field(0, description="how many times an agent retried it after it failed")
    choices: list[Choice] | None = Field(None, description="buttons it offered the customer (an in-channel survey)")
    # issue 17: public comments
    visibility: Literal["public", "private"] | None = Field(None, description="a reply on a comment conversation: "
                                                            "posted on the thread, or sent privately to the commenter")
    comment_id: str | None = Field(None, description="inbound: the provider's id of the comment; outbound: the "
                                                     "comment answered")
    hidden: bool = Field(False, description="an agent hid this comment (POST .../moderate)")
    moderation: dict | None = Field(None, description="the last moderation: {'action': hide | unhide | delete, "
                                                      "'by', 'at'}")

    @classmethod
    def of(cls, message: Message, link: Callable[[Attachment], str | None] | None = None) -> MessageOut:
        data = message.model_dump(exclude={"attachments", "story"})
        attachments = [AttachmentOut(kind=a.kind, filename=a.filename, mime_type=a.mime_type, size=a.size,
                                     status=a.status, url=link(a) if link and a.s3_key else None)
                       for a in message.attachments]
        story = None
        if message.story is not None:  # issue 17: the story's attachment is the one Instagram's link named
            copy = next((out for a, out in zip(message.attachments, attachments, strict=True)
                         if a.url and a.url == message.story.source_url), attachments[0] if attachments else None)
            story = StoryOut(kind=message.story.kind, expires_at=message.story.expires_at,
                             url=copy.url if copy else None)
        return cls(**data, attachments=attachments, story=story, edited=message.edited_at is not None,
                   deleted=message.deleted_at is not None, warnings=authentication_warnings(message.authentication))


AUTH_CHECKS = ("dmarc", "spf", "dkim")


def authentication_warnings(verdicts: dict[str, str] | None) -> list[str]:
    """A failed check (FAIL), or one that could not be made (PROCESSING_FAILED). GRAY (no policy, no signature) is
    common for small senders and says nothing against a message: no warning."""
    found = []
    for check in AUTH_CHECKS:
        verdict = (verdicts or {}).get(check)
        if verdict == "FAIL":
            found.append(f"{check}_fail")
        elif verdict == "PROCESSING_FAILED":
            found.append(f"{check}_unverified")
    return found


class MessagePage(ApiModel):
    items: list[MessageOut]
    next_cursor: str | None = None


class ReplyIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field("", max_length=10_000, description="required unless attachments (then a caption) or a "
                                                         "template are given")
    template: TemplateChoice | None = Field(None, description="an approved WhatsApp template (GET /api/templates), "
                                            "sent whatever the reply window")
    attachments: list[str] = Field([], max_length=20, description="upload ids (POST /api/uploads) of files posted "
                                                                  "to the media bucket: sent with the text")
    reply_to: str | None = Field(None, max_length=64, description="rich replies: the id of a message of this "
                                 "conversation it quotes, sent as the channel's own reply to it (400 otherwise)")
    visibility: Literal["public", "private"] | None = Field(
        None, description="issue 17: required on a comment conversation: public answers on the comment thread, private "
                          "sends the one private reply Meta allows per comment (within 7 days; the quoted comment, "
                          "`reply_to`, else the customer's latest). A second private reply to a comment is 409 "
                          "private_reply_sent, one past 7 days 409 private_reply_window_closed. On other "
                          "conversations absent or private (a message is private already); public is 400 "
                          "not_a_comment")
    # the live workspace (issue 15): no double replies
    after: str | None = Field(None, min_length=1, max_length=128,
                              description="the newest message the agent has seen: when the customer wrote since, or "
                                          "a colleague replied, the answer is 409 conversation_changed and nothing "
                                          "is sent")

    @model_validator(mode="after")
    def _something(self) -> ReplyIn:
        if not self.text.strip():
            if not self.attachments and self.template is None:
                raise ValueError("write a text, attach a file, or choose a template")
            self.text = ""  # files without a caption
        return self


class ModerateIn(ApiModel):  # issue 17
    model_config = ConfigDict(extra="forbid")
    action: Literal["hide", "unhide", "delete"] = Field(description="hide (only its author and their friends still "
                                                        "see it), unhide, or delete the comment at the provider")


class NoteIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)


class AssignIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    agent: str | None = Field(max_length=320, description="the agent's email; null unassigns (required: an empty "
                                                         "body must not unassign by accident)")


Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[^,\s][^,]*$")]


class LabelsIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    labels: list[Label] = Field(max_length=20)


class CannedIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    shortcut: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    text: str = Field(min_length=1, max_length=4000)


class CannedPatch(ApiModel):
    model_config = ConfigDict(extra="forbid")
    shortcut: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    text: str | None = Field(None, min_length=1, max_length=4000)


class CannedOut(ApiModel):
    id: str
    shortcut: str
    text: str
    created_by: str | None = Field(None, description="its author: they and admins may change or delete it")
    updated_at: str | None = None


class CannedList(ApiModel):
    items: list[CannedOut]
    variables: dict[str, str] = Field({}, description="the variables a text may hold ({{contact.first_name}}...), "
                                                      "with what each is filled with when inserted")


class Identity(ApiModel):
    identity: str
    channel: str
    address: str


class ContactConversation(ApiModel):
    id: str
    channel: str
    status: str
    updated_at: str


class ContactOut(ApiModel):
    id: str
    name: str | None = None
    display: str = Field("", description="the name, else the phone number, email address or first channel address; "
                                         "never empty")
    email: str | None = None
    phone: str | None = None
    surveys_opt_out: bool = False
    do_not_contact: bool = Field(False, description="no automated message of any kind, and no conversation an agent "
                                                    "starts")
    opted_out: list[str] = Field([], description="channels the customer opted out of (an SMS STOP): nothing is "
                                                 "sent there (409 opted_out)")
    created_at: str
    identities: list[Identity] = []
    conversations: list[ContactConversation] = []
    attributes: dict[str, Any] = Field({}, description="custom attributes (issue 14; GET /api/attributes)")

    @model_validator(mode="after")
    def _display(self) -> ContactOut:
        if not self.display:
            known = (address_label(i.channel, i.address) for i in self.identities)
            self.display = self.name or self.phone or self.email or next(filter(None, known), None) or \
                f"Contact {self.id}"
        return self


class ContactPatch(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320, pattern=EMAIL_PATTERN)
    phone: str | None = Field(None, pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")
    surveys_opt_out: bool | None = None
    do_not_contact: bool | None = None
    opted_out: list[Channel] | None = Field(None, max_length=7, description="the whole list of opted-out channels")
    attributes: dict[str, Any] | None = Field(None, description="custom attributes to set (null removes one), "
                                              "checked against their definitions (issue 14)")


class Me(ApiModel):
    email: str
    role: Literal["agent", "admin"]
    now: str = Field(description="the server's time (ISO 8601): the app measures its own clock against it")


class Percentiles(ApiModel):
    p50: float | None = None
    p90: float | None = None
    count: int = 0


class Csat(ApiModel):
    average: float | None = None
    responses: int = 0
    satisfied_share: float | None = Field(None, description="share of ratings 4 and 5")


class MetricsOut(ApiModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    conversations: int
    first_response_seconds: Percentiles
    resolution_seconds: Percentiles
    csat: Csat
    by_channel: dict[str, int]
    by_status: dict[str, int] = Field(description="open, pending, resolved: where the conversations opened in the "
                                                  "period stand now")
    activity: dict[str, int] = Field(description="opened, resolved, reopened: what happened in the period")
    sla: SlaMetrics = Field(default_factory=lambda: SlaMetrics(), description="SLA hit rates and breaches (issue 14)")


# -- templates and reaching customers first (templates capability) ----------------------------------
TEMPLATE_NAME = r"^[a-z0-9_]{1,512}$"
TEMPLATE_LANGUAGE = r"^[A-Za-z]{2,3}(_[A-Za-z0-9]{2,4})?$"


class MediaLink(ApiModel):
    model_config = ConfigDict(extra="forbid")
    link: str = Field(max_length=2000, description="https URL of the header's image, video or document")


class TemplateParameters(ApiModel):
    model_config = ConfigDict(extra="forbid")
    body: list[str] = Field([], max_length=100, description="the body's values, in the order of its variables")
    header: str | MediaLink | None = Field(None, description="the header's text value, or {'link'} for a media header")
    buttons: list[str] = Field([], max_length=10, description="the values of URL buttons with a variable, in order")


class TemplateChoice(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=TEMPLATE_NAME)
    language: str = Field(pattern=TEMPLATE_LANGUAGE)
    parameters: TemplateParameters = TemplateParameters()


class TemplateVariable(ApiModel):
    name: str
    example: str = ""


class TemplateHeaderParameter(ApiModel):
    format: str = Field(description="text, image, video or document")
    name: str | None = None
    example: str = ""


class TemplateButtonParameter(ApiModel):
    index: int
    name: str
    example: str = ""


class TemplateParameterSpec(ApiModel):
    body: list[TemplateVariable] = []
    header: TemplateHeaderParameter | None = None
    buttons: list[TemplateButtonParameter] = []


class TemplateHeader(ApiModel):
    format: str
    text: str | None = None


class TemplateButton(ApiModel):
    type: str = Field(description="quick_reply, url, phone_number, copy_code...")
    text: str
    url: str | None = None
    phone_number: str | None = None


class TemplateOut(ApiModel):
    name: str
    language: str
    category: str
    status: str
    body: str
    parameters: TemplateParameterSpec
    parameter_format: str = "positional"
    header: TemplateHeader | None = None
    footer: str | None = None
    buttons: list[TemplateButton] = []


class TemplateList(ApiModel):
    items: list[TemplateOut]
    synced_at: str | None = Field(None, description="when the templates were last synced from the provider")


class TemplateSyncOut(ApiModel):
    templates: int = Field(description="approved templates now stored")
    written: int = Field(description="new or changed ones")
    removed: int = Field(description="ones no longer approved, removed")
    synced_at: str


class Recipient(ApiModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel
    address: str = Field(min_length=1, max_length=320, description="a phone number (international form), an email "
                                                                   "address, or a Telegram chat id that wrote before")


class NewConversationIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: str | None = Field(None, max_length=64)
    to: Recipient | None = None
    channel: Channel
    text: str = Field("", max_length=10_000)
    template: TemplateChoice | None = None
    subject: str | None = Field(None, max_length=200, description="email: the subject")
    inbox: str | None = Field(None, max_length=320, description="the business address to send from (default: the "
                                                                "channel's, or the one the contact wrote to last)")

    @model_validator(mode="after")
    def _who_and_what(self) -> NewConversationIn:
        if (self.contact_id is None) == (self.to is None):
            raise ValueError("give either contact_id or to")
        if self.to is not None and self.to.channel != self.channel:
            raise ValueError("to.channel must be the channel")
        if not self.text.strip() and self.template is None:
            raise ValueError("write a text, or choose a template")
        return self


class NewConversationOut(ConversationDetail):
    message: MessageOut = Field(description="the first message, queued")


ReplyIn.model_rebuild()


# -- organizing the queue (issue 14) ---------------------------------------------------------------------------------
class SlaOut(ApiModel):
    first_response_due_at: str | None = None
    next_response_due_at: str | None = None
    resolution_due_at: str | None = None
    breached: list[str] = Field([], description="targets missed in this cycle: first_response, next_response, "
                                                "resolution")
    warned: list[str] = Field([], description="targets the assignee was warned about")
    next_due_at: str | None = Field(None, description="the nearest due time of the targets not met yet")
    seconds_left: int | None = Field(None, description="until next_due_at, by the server's clock (negative: overdue)")


class SlaMetrics(ApiModel):
    first_response_hit_rate: float | None = Field(None, description="first responses within target / first "
                                                                    "responses with a target")
    next_response_hit_rate: float | None = None
    resolution_hit_rate: float | None = None
    breaches: int = Field(0, description="targets breached (recorded by TimersFunction) in the period")
    breaches_by_target: dict[str, int] = {}
    counted: dict[str, int] = Field({}, description="how many of each target were met or missed in the period")


class SnoozeIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    until: str | None = Field(None, max_length=40, description="ISO 8601 with a time zone, in the future")
    preset: Literal["1h", "tomorrow", "next_week"] | None = Field(
        None, description="instead of until: an hour from now, tomorrow 9:00 or next Monday 9:00 in the business "
                          "time zone")


Priority = Literal["urgent", "high", "normal", "low"]


class PriorityIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    priority: Priority


class ConversationPatch(ApiModel):
    model_config = ConfigDict(extra="forbid")
    attributes: dict[str, Any] = Field(description="custom attributes to set (null removes one), checked against "
                                                   "their definitions")


BULK_MAX = 100


class BulkIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(min_length=1,
                                                                                      max_length=BULK_MAX)
    action: Literal["resolve", "reopen", "assign", "label", "snooze", "priority"]
    agent: str | None = Field(None, max_length=320, description="assign: the agent's email (null unassigns)")
    labels: list[Label] | None = Field(None, max_length=20, description="label: labels added to each")
    until: str | None = Field(None, max_length=40, description="snooze: ISO 8601 with a time zone")
    preset: Literal["1h", "tomorrow", "next_week"] | None = Field(None, description="snooze: instead of until")
    priority: Priority | None = Field(None, description="priority: the one to set")

    @model_validator(mode="after")
    def _parameters(self) -> BulkIn:
        if self.action == "assign" and "agent" not in self.model_fields_set:
            raise ValueError("assign needs agent (null unassigns)")
        if self.action == "label" and not self.labels:
            raise ValueError("label needs labels")
        if self.action == "snooze" and (self.until is None) == (self.preset is None):
            raise ValueError("snooze needs until or preset")
        if self.action == "priority" and self.priority is None:
            raise ValueError("priority needs priority")
        return self


class BulkError(ApiModel):
    code: str
    message: str


class BulkResult(ApiModel):
    id: str
    ok: bool
    error: BulkError | None = Field(None, description="why not (null when ok)")


class BulkOut(ApiModel):
    results: list[BulkResult]


class AttributeIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="lower case letters, digits and _")
    label: str = Field(min_length=1, max_length=80)
    type: Literal["text", "number", "date", "list", "checkbox"]
    applies_to: Literal["contact", "conversation"]
    options: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]] | None = \
        Field(None, max_length=50, description="list: the choices")


class AttributeOut(ApiModel):
    key: str
    label: str
    type: Literal["text", "number", "date", "list", "checkbox"]
    applies_to: Literal["contact", "conversation"]
    options: list[str] | None = None


class AttributeList(ApiModel):
    items: list[AttributeOut]


# -- rich replies: uploads (POST /api/uploads, POST /webchat/uploads) --------------------------------------------
class UploadIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    conversation_id: str = Field(min_length=1, max_length=64, description="the conversation the file is for: its "
                                                                          "channel's limits apply")
    filename: str = Field(min_length=1, max_length=1000)
    content_type: str = Field(min_length=3, max_length=200, description="the file's MIME type, e.g. image/png")
    size: int = Field(ge=1, le=1024 * 1024 * 1024, description="bytes; the upload must be exactly this size")


class UploadOut(ApiModel):
    upload_id: str = Field(description="name it in the reply's attachments")
    url: str = Field(description="where to POST the file: the media bucket (never this API)")
    fields: dict[str, str] = Field(description="form fields to POST first, then the file as the field `file`, as "
                                               "multipart/form-data; the signed policy bounds its size and type")
