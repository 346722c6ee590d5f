"""The normalized models shared by channels, store, queue and API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from switchboard.channel_names import Channel  # the channel names, defined once

Direction = Literal["inbound", "outbound"]
Priority = Literal["urgent", "high", "normal", "low"]  # issue 14; a conversation without one is normal
ConversationStatus = Literal["open", "pending", "resolved", "snoozed"]  # snoozed: hidden until a time (issue 14)
# Outbound delivery states; receipts only ever move a message forward (failed is terminal).
DeliveryStatus = Literal["received", "queued", "sending", "sent", "delivered", "read", "failed", "note"]
STATUS_RANK: dict[str, int] = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4, "failed": 5}


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Attachment(Model):
    kind: Literal["image", "audio", "video", "document", "sticker", "file"]
    provider_media_id: str | None = None
    url: str | None = Field(None, description="the provider's (expiring) URL, when it sends one")
    mime_type: str | None = None
    filename: str | None = None
    sha256: str | None = None
    size: int | None = None
    s3_key: str | None = None
    status: Literal["pending", "stored", "failed"] = "pending"
    voice: bool = False
    # Rich replies (uploads): a visitor's file, posted to the media bucket by the browser, is copied from here.
    upload_key: str | None = Field(None, description="S3 key of the upload this file is copied from (a visitor's)")


class Location(Model):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


# -- growth: where a conversation came from (entry links, ads, the web page of the widget) ----------------------
class AdReferral(Model):
    """A Click-to-WhatsApp or Click-to-Messenger ad (or a post) the customer came from."""

    id: str | None = None
    headline: str | None = None
    source_url: str | None = None
    kind: str = Field("ad", description="'ad' or 'post', as the provider says")


class Referral(Model):
    """What a channel tells about how the customer arrived: an entry link's reference, an ad, the widget's page."""

    ref: str | None = Field(None, description="an entry link's reference (wa.me text, m.me/ig.me ref, t.me start)")
    ad: AdReferral | None = None
    page_url: str | None = Field(None, description="web chat: the page the widget ran on (no query or fragment)")


class Source(Referral):
    """A conversation's source: its first inbound message's referral, matched to an entry link when one has it."""

    link_id: str | None = None
    label: str | None = Field(None, description="what agents see on the chip: the link's name, the ad, the page")


EventType = Literal["conversation.created", "conversation.status_changed", "conversation.assigned", "message.created",
                    "contact.updated", "contact.merged", "contact.erased", "csat.submitted", "webhook.test"]


class EventRecord(Model):
    """An event for other systems, as queued and kept for its retries: ids and facts only, never a customer's
    personal data. What the event is about is read when it is delivered (services/events.render), so an erased
    contact's data goes out with no event afterwards."""

    id: str
    type: EventType
    created_at: str
    subject: dict[str, str] = Field({}, description="ids of what it is about: conversation_id, message_id, ...")
    facts: dict[str, Any] = Field({}, description="what happened, without personal data: statuses, ratings, agents")


class EventJob(Model):
    """The events queue's message: an event to fan out to its endpoints, or one delivery to attempt (a retry)."""

    event: EventRecord | None = None
    endpoint_id: str | None = None
    delivery_sk: str | None = None


# -- Instagram stories (issue 17) ------------------------------------------------------------------------------------
class Story(Model):
    """The story a message mentions us in or replies to: its media is one of the message's attachments (copied into
    our bucket when the message arrives: Instagram's link expires within a day)."""

    kind: Literal["mention", "reply"]
    source_url: str | None = Field(None, description="Instagram's (expiring) link to the story's media: it names "
                                   "the attachment that is our copy")
    expires_at: str = Field(description="when Instagram's link (and the story) expires: a day after the message")


# -- Facebook and Instagram comments and mentions (issue 17) ---------------------------------------------------------
class Post(Model):
    """The post a comment conversation is under: what agents see above the thread."""

    id: str
    permalink: str | None = None
    text: str | None = Field(None, description="the post's caption or message")
    thumbnail_url: str | None = Field(None, description="the provider's (expiring) link to its picture: copied into "
                                      "our bucket as an attachment of the comment that brought it")


class CommentRef(Model):
    """What makes an inbound message a public comment: which comment, which thread (its top-level comment), which
    post. `mention`: the business was mentioned in a comment on someone else's post (Instagram)."""

    id: str
    thread_id: str = Field(description="the top-level comment: one conversation per thread")
    post: Post
    mention: bool = False


class InboundMessage(Model):
    """One customer message, as every channel normalizes it."""

    kind: Literal["message"] = "message"
    channel: Channel
    provider_message_id: str
    inbox_id: str = Field(description="the business address it was sent to (WhatsApp phone_number_id, page id...)")
    sender_id: str = Field(description="the customer's address on the channel (wa_id, PSID, chat id...)")
    identity: str = Field(description="normalized identity, e.g. phone:+15551234567")
    sender_name: str | None = None
    type: str = "text"
    text: str = ""
    attachments: list[Attachment] = []
    location: Location | None = None
    reply_to: str | None = Field(None, description="provider id of the message this one answers or quotes")
    reaction: str | None = None
    payload: str | None = Field(None, description="button / quick-reply / postback payload")
    timestamp: float = Field(description="unix seconds, the provider's time of the message")
    edited: bool = Field(False, description="an edit of the stored message with this provider_message_id")
    event_id: str | None = Field(None, description="the provider's id of this event where it differs from the "
                                 "message's (an edit's update id): the dedupe key then")
    subject: str | None = Field(None, description="email subject")
    thread_refs: list[str] = Field([], description="provider ids (RFC Message-IDs) this message answers, oldest first")
    raw_ref: str | None = Field(None, description="S3 key of the raw source (email)")
    message_ref: str | None = Field(None, description="email: this message's own RFC Message-ID")
    summary: str | None = Field(None, description="what an agent reads for content that is not text: a labelled "
                                "placeholder with what is known ('Order: 2 items', 'Game: Tetris')")
    deleted: bool = Field(False, description="the customer unsent (revoked) the stored message with this "
                                             "provider_message_id: its content is removed")
    echo: bool = Field(False, description="sent by the business outside Switchboard (the WhatsApp Business app on "
                                          "a coexistence number, the Page inbox) to sender_id: stored as outbound")
    echo_via: str | None = Field(None, description="with echo: where it was sent from ('whatsapp_business_app')")
    auto_submitted: str | None = Field(None, description="sent by a machine, not a person: why (AUTO_REPLIED, "
                                       "'auto_generated', 'list', 'bulk'). Automation never answers it")
    authentication: dict[str, str] | None = Field(None, description="email: the receiving server's verdicts, "
                                                  "{'spf', 'dkim', 'dmarc'}: PASS, FAIL, GRAY or PROCESSING_FAILED")
    referral: Referral | None = Field(None, description="growth: how the customer arrived (link ref, ad, page)")
    story: Story | None = Field(None, description="Instagram: the story mentioned or replied to (issue 17)")
    comment: CommentRef | None = Field(None, description="a public comment under a post (issue 17): its thread is "
                                       "a conversation of kind comment")


# An automatic reply (out of office, vacation): it joins only the conversation it answers, and changes nothing there.
AUTO_REPLIED = "auto_replied"


class IgnoredEvent(Model):
    """Something in a webhook that is neither a customer speaking nor a receipt (a service message, an event for an
    inbox we do not own): acknowledged and counted by reason, never stored or queued."""

    kind: Literal["ignored"] = "ignored"
    channel: Channel
    reason: str = Field(description="a short slug for the count: 'service_message', 'unknown_inbox'...")


def dedupe_id(event: InboundMessage | StatusUpdate | ContactEvent) -> str:
    """The key under which the webhook records first sight of an event."""
    if isinstance(event, InboundMessage):
        if event.event_id:
            return event.event_id
        if event.deleted:
            return f"{event.provider_message_id}#delete"
        return f"{event.provider_message_id}#edit#{event.timestamp}" if event.edited else event.provider_message_id
    if isinstance(event, ContactEvent):
        return f"event#{event.provider_event_id}"
    return f"status#{event.provider_message_id}#{event.status}#{event.watermark or ''}"


class StatusUpdate(Model):
    """A delivery receipt for one of our outbound messages, or (watermark) for all of them up to a time."""

    kind: Literal["status"] = "status"
    channel: Channel
    provider_message_id: str = Field("", description="empty for a watermark receipt")
    status: Literal["sent", "delivered", "read", "failed"]
    timestamp: float
    error_code: str | None = None
    error_title: str | None = None
    watermark: float | None = Field(None, description="unix seconds: every outbound message up to it (Messenger)")
    inbox_id: str | None = Field(None, description="with a watermark: the business address")
    sender_id: str | None = Field(None, description="with a watermark: the customer's address")


class ContactEvent(Model):
    """Something the customer did to the channel itself (blocked or unblocked us)."""

    kind: Literal["contact_event"] = "contact_event"
    channel: Channel
    provider_event_id: str
    inbox_id: str
    sender_id: str
    identity: str
    event: Literal["blocked", "unblocked"]
    timestamp: float


InboundEvent = Annotated[InboundMessage | StatusUpdate | ContactEvent, Field(discriminator="kind")]


class OutboundJob(Model):
    """The outbound queue's message: which stored message to send."""

    conversation_id: str
    message_id: str
    created_at: str
    correlation_id: str | None = Field(None, description="the request (or inbound message) that caused the reply")
    retry: int = Field(0, description="rich replies: an agent's retry of a failed reply (its attempt number)")
    retry_requested_at: str | None = Field(None, description="with retry: when the agent asked for it")


class InboundEnvelope(Model):
    """The inbound queue's message."""

    event: InboundEvent
    received_at: str
    correlation_id: str | None = Field(None, description="the webhook request's id, for the processor's log lines")
    claimed: bool = Field(True, description="the webhook recorded first sight of the event (its dedupe marker); "
                                            "false for a large batch, whose events the processor claims")


class SendRequest(Model):
    """What a channel needs to send one reply."""

    channel: Channel
    inbox_id: str = Field(description="the business address the customer wrote to (send from it)")
    recipient: str = Field(description="the customer's address on the channel")
    text: str
    reply_to: str | None = Field(None, description="provider id of the message to quote / answer")
    conversation_id: str | None = None
    message_id: str | None = Field(None, description="our id of the message: an idempotency key where supported")
    subject: str | None = Field(None, description="email: the thread's subject")
    thread_refs: list[str] = Field([], description="email: the thread's Message-IDs, oldest first")
    past_window: bool = Field(False, description="an agent's reply past the standard window, sent in the channel's "
                                                 "form for it: Messenger's and Instagram's HUMAN_AGENT tag, a "
                                                 "WhatsApp template")
    automated: bool = Field(False, description="sent by automation (greeting, away, auto-reply), marked as such where "
                                               "the channel can (email: Auto-Submitted)")
    # templates capability: an approved template (WhatsApp), sent whatever the reply window
    template: dict | None = Field(None, description="{'name', 'language', 'components'}: the provider's template "
                                                    "message, parameters filled")
    files: list[OutboundFile] = Field([], description="the reply's files (rich replies); a channel's send_parts "
                                                      "splits them into the provider messages it sends")
    choices: list[dict] = Field([], description="rich replies: buttons to answer with ([{'id', 'title'}]), sent in "
                                                "the channel's own form (buttons, a list, an inline keyboard, quick "
                                                "replies; as text where there is none)")
    choices_label: str | None = Field(None, description="with choices: what opens a list of them (WhatsApp)")
    # issue 17: an answer to a public comment, on its thread (public) or in the commenter's inbox (private)
    visibility: Literal["public", "private"] | None = None
    comment_id: str | None = Field(None, description="with visibility: the comment answered (public: its thread's "
                                   "top-level comment; private: the commenter's comment)")
    mention: bool = Field(False, description="Instagram: the comment mentioned the business on someone else's post")
    post_id: str | None = Field(None, description="with mention: the post it is under")


class OutboundFile(Model):
    """A file of a reply, stored in the media bucket: what a channel needs to send it (rich replies)."""

    index: int = Field(description="its place among the message's attachments")
    kind: Literal["image", "audio", "video", "document"]
    mime_type: str
    filename: str | None = None
    size: int
    s3_key: str


class SendResult(Model):
    provider_message_id: str
    aliases: list[str] = Field([], description="further ids the provider knows the message by (SES's own message "
                                               "id): recorded too, so that its receipts and replies find it")
    recipient_id: str | None = Field(None, description="a private reply to a comment: the commenter's id in the "
                                     "inbox (Messenger's PSID), where their answer will come from")


class Contact(Model):
    id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    surveys_opt_out: bool = False
    created_at: str
    first_message_id: str | None = Field(None, description="the message that made us meet: it gets the greeting")
    email_suppressed: bool = Field(False, description="mail to the address bounced or drew a complaint")
    channels: list[str] = Field([], description="further channels the customer wrote on under a shared identity")
    # templates capability: consent to be contacted
    do_not_contact: bool = Field(False, description="no automated message of any kind, and no conversation an agent "
                                                    "starts; replies to the customer's own messages still go out")
    opted_out: list[str] = Field([], description="channels the customer opted out of (SMS STOP): nothing is sent there")
    attributes: dict[str, Any] = Field({}, description="custom attributes (issue 14; definitions: GET /api/attributes)")
    # Contacts and search (issue 14): what the search index holds for the contact, and its directory position.
    last_activity_at: str | None = Field(None, description="the customer's latest message (to 15 minutes)")
    search_terms: list[str] = Field([], description="the terms the contact is indexed under (CTERM# items)")
    search_name: str | None = Field(None, description="the name those index items show")
    search_handle: str | None = Field(None, description="a channel handle to show when there is no name, phone "
                                                        "or email")


class Conversation(Model):
    id: str
    blocked: bool = Field(False, description="the customer blocked us on this channel: replies cannot reach them")
    channel: Channel
    inbox_id: str
    contact_id: str
    contact_name: str | None = None
    recipient: str
    status: ConversationStatus = "open"
    assignee: str | None = None
    labels: list[str] = []
    last_message: dict | None = None
    created_at: str
    updated_at: str
    last_inbound_at: str | None = None
    first_response_at: str | None = None
    resolved_at: str | None = None
    resolved_by: str | None = None
    last_agent_reply_at: str | None = None
    unread_count: int = 0
    rating: int | None = None
    rating_comment: str | None = Field(None, description="what the customer added to their rating")
    expires_at: int | None = Field(None, description="TTL backstop, moved forward with every activity")
    subject: str | None = Field(None, description="email: the thread's subject")
    thread_refs: list[str] = Field([], description="email: the thread's Message-IDs, oldest first")
    auto_submitted: str | None = Field(None, description="while every customer message in it is automated mail "
                                       "(list, bulk, auto-generated): the reason. No survey then")
    # -- organizing the queue (issue 14): priority, snooze, waiting time, SLA, custom attributes ----------------
    priority: Priority = "normal"
    snoozed_until: str | None = Field(None, description="snoozed: when it wakes (back to open)")
    waiting_since: str | None = Field(None, description="the customer's first unanswered message (our receive "
                                      "time); None while nobody waits for us")
    sla: dict[str, str] | None = Field(None, description="due times of the SLA targets not met yet "
                                       "(<target>_due_at) and the warnings and breaches recorded "
                                       "(warned_<target>, breached_<target>: the due time they were for)")
    attributes: dict[str, Any] = Field({}, description="custom attributes (definitions: GET /api/attributes)")

    @property
    def inbox(self) -> str:
        """The id of the inbox it came in by (issue 14): derived from the business address, so that conversations
        from before inboxes existed have one too."""
        from switchboard.ids import inbox_id

        return inbox_id(self.channel, self.inbox_id)
    source: Source | None = Field(None, description="growth: where it came from (its first inbound message)")
    # Rich replies (issue 13): the in-channel survey of its latest resolution, while its answer is awaited.
    channel_survey: dict | None = Field(None, description="{'resolution', 'expires_at', 'rated_at'?, "
                                        "'commented'?}: the rating question asked in the channel")
    # issue 19: a team an automation rule or a macro gave it (assign_team); else its inbox's team is its team
    team: str | None = Field(None, description="the team a rule or macro assigned it to (else its inbox's)")
    # issue 17: a public comment thread under a Facebook or Instagram post
    kind: Literal["message", "comment"] = "message"
    post: Post | None = Field(None, description="kind comment: the post the thread is under")
    comment_thread: str | None = Field(None, description="kind comment: the thread's top-level comment id")
    mention: bool = Field(False, description="kind comment: Instagram, the business mentioned on someone's post")
    # issue 15: what the customer was last shown of an agent at work (services/indicators.py)
    indicated_read_at: str | None = Field(None, description="the last_inbound_at whose messages were marked read")
    indicated_typing_at: float | None = Field(None, description="when the customer was last shown an agent typing")


class ConversationCard(Model):
    """What a search result shows of a conversation, as it is now: read from its item, or for a contact's
    conversations from ContactIndex, which projects all of this but the activity (updated_at, last_message)."""
    id: str
    channel: Channel
    inbox_id: str = ""
    contact_id: str
    contact_name: str | None = None
    recipient: str = ""
    status: ConversationStatus = "open"
    labels: list[str] = []
    subject: str | None = None
    created_at: str
    updated_at: str | None = Field(None, description="the latest activity: from the conversation's item only")
    last_message: dict | None = None


class Agent(Model):
    """An agent's availability for round-robin assignment, their cap and their open load."""

    email: str
    available: bool = False
    max_open: int = 0
    open_count: int = Field(0, description="assigned open conversations (a stray decrement may leave it below 0)")
    last_assigned_at: str | None = None


AUTOMATED_SENDER = "automation:"  # automated replies' sender: automation:<kind>
EXTERNAL_SENDER = "external:"  # sent by the business outside Switchboard: external:<where> (e.g. the Business app)


TranscriptStatus = Literal["pending", "completed", "failed"]


class TranscriptionJobChange(Model):
    """Amazon Transcribe's EventBridge event ("Transcribe Job State Change"), its `detail`: which job, how it ended."""

    job_name: str = Field(alias="TranscriptionJobName", min_length=1, max_length=200)
    status: str = Field(alias="TranscriptionJobStatus", max_length=40)


class Message(Model):
    id: str
    conversation_id: str
    direction: Direction
    channel: Channel
    type: str = "text"
    text: str = ""
    attachments: list[Attachment] = []
    location: Location | None = None
    reply_to: str | None = None
    reaction: str | None = None
    payload: str | None = None
    created_at: str
    status: DeliveryStatus
    status_at: float | None = None
    failure_reason: str | None = None
    sender: str | None = None
    provider_message_id: str | None = None
    lease_until: float | None = Field(None, description="while sending: when an attempt without outcome expires")
    retry_at: float | None = Field(None, description="queued: not sent before this time (the provider's Retry-After)")
    edited_at: float | None = None
    deleted_at: float | None = Field(None, description="when the customer unsent it (its content is gone)")
    summary: str | None = Field(None, description="a labelled placeholder for content that is not text")
    raw_ref: str | None = Field(None, description="S3 key of the raw source (email)")
    message_ref: str | None = Field(None, description="email: the message's own RFC Message-ID")
    auto_submitted: str | None = Field(None, description="inbound automated mail: why (see InboundMessage)")
    authentication: dict[str, str] | None = Field(None, description="email: SPF, DKIM and DMARC verdicts")
    expires_at: int | None = Field(None, description="TTL backstop (epoch seconds); the retention job deletes first")
    template: dict | None = Field(None, description="templates capability: the template message it was sent as "
                                                    "({'name', 'language', 'components'}); `text` is its rendered body")
    search_terms: list[str] = Field([], description="customer messages: the words it gave the search index (TERM# "
                                                    "items), so that deleting it finds them")
    # Rich replies: a reply with files goes out as several provider messages (its channel's send_parts); each part
    # is recorded here as it is sent, so that a retry sends only what has not gone out.
    sent_parts: dict[str, str] | None = Field(None, description="part number -> the provider's id of that part")
    # Voicemail (issue 17): a call's message (type "audio" with the recording, or "missed_call") and its words.
    transcript: str | None = Field(None, description="voice: the voicemail's transcription, when there is one")
    transcript_status: TranscriptStatus | None = Field(None, description="voice: the voicemail's transcription job "
                                                       "(Amazon Transcribe): pending, completed or failed; none: not "
                                                       "transcribed (turned off, or no recording)")
    transcript_ref: str | None = Field(None, description="voice: S3 key of the transcription's output (Transcribe's "
                                       "JSON), deleted with the message")
    story: Story | None = Field(None, description="Instagram: the story mentioned or replied to (issue 17)")
    # Rich replies (issue 13): quoted replies, a failed reply's retries, and choices (an in-channel survey's buttons).
    quoted: dict | None = Field(None, description="the message it quotes, as it was: {'id', 'direction', 'text', "
                                                  "'sender', 'created_at'} (text capped)")
    attempt: int = Field(0, description="how many times an agent retried it after it failed")
    choices: list[dict] | None = Field(None, description="buttons the customer can answer with: [{'id', 'title'}]")
    choices_label: str | None = Field(None, description="with choices: the label of the button that opens them "
                                                        "where the channel needs one (a WhatsApp list)")
    # issue 17: comments. Inbound: the comment it is (provider_message_id), its moderation. Outbound: where it went.
    visibility: Literal["public", "private"] | None = Field(None, description="a reply on a comment conversation: "
                                                            "on the thread, or one private reply to the commenter")
    comment_id: str | None = Field(None, description="inbound: the comment; outbound: the comment answered")
    hidden: bool = Field(False, description="a comment an agent hid (only its author and friends still see it)")
    moderation: dict | None = Field(None, description="the last moderation: {'action', 'by', 'at'}")
    comment_from: str | None = Field(None, description="a comment's author (inbound), or the author of the comment "
                                     "a private reply answers (outbound): their id on the channel")

    @property
    def automated(self) -> bool:
        """Sent by automation (greeting, away, auto-reply), not by an agent."""
        return (self.sender or "").startswith(AUTOMATED_SENDER)


# -- inboxes and teams (issue 14) -------------------------------------------------------------------------------------
InboxStatus = Literal["active", "blocked"]


class Inbox(Model):
    """One business address on one channel: a WhatsApp phone_number_id, a Page id, an Instagram account id, the
    Telegram bot (or one of its business connections), an SMS number, an email address, a web chat widget id."""

    id: str
    channel: Channel
    address: str
    name: str | None = None
    team: str | None = Field(None, description="the team whose members its new conversations go to")
    status: InboxStatus = Field("active", description="blocked: an admin removed it; its events are ignored")
    created_at: str
    origin: str = Field("first_contact", description="how it became known: 'configured' (the bot, the default "
                        "widget, an address of the mail domains), 'adopted' (the channel's first), 'accepted' "
                        "(new inboxes allowed), 'admin'")


class IgnoredInbox(Model):
    """A business address events came for that is not an inbox: they were ignored and counted here."""

    id: str
    channel: Channel
    address: str
    events: int = 0
    first_at: str
    last_at: str


class Team(Model):
    id: str
    name: str
    members: list[str] = Field([], description="agents' emails, lower-cased")
    created_at: str
