"""Every key string of the single table is built here, and only here.

Items (pk / sk):
  CONV#<id>            META                      conversation          GSI1 inbox by status, GSI2 by assignee
  CONV#<id>            MSG#<created>#<msg id>    message, in time order
  CONV#<id>            DUE#<job>                 due work              DueIndex (sparse)
  CONTACT#<id>         PROFILE                   contact
  CONTACT#<id>         IDENTITY#<identity>[#<ch>] the contact's identities (and further channels sharing one)
  CONTACT#<id>         CONV#<id>                 the contact's conversations
  IDENTITY#<identity>  IDENTITY                  identity -> contact ("phone:+15551234567")
  ACTIVE#<ch>#<inbox>#<contact>  ACTIVE          the contact's current conversation in an inbox
  INBOUND#<ch>#<provider id>     INBOUND         dedupe marker of an inbound provider message
  PROVIDERMSG#<ch>#<provider id> PROVIDERMSG     provider message id -> our outbound message
  CONV#<id>            DUE#retention             retention entry: DueIndex DUE#retention#<channel> by last activity
  CONV#<id>            AWAY#<local day>          an away message went out that day (claim)
  CONV#<id>            SURVEY#<resolution>       the survey of one resolution: sent, rating, comment
  CONTACT#<id>         GREETED                   the greeting went out (claim)
  SUPPRESS#<sha256>    SUPPRESS                  an address that bounced or complained
  METRICS#<yyyy-mm-dd> DAY                       the day's aggregate counters
  AGENTS               AGENT#<email>             an agent's availability, cap and open load (round-robin)
  SETTINGS             AUTOMATION                the admins' automation settings document
  AUDIT#<yyyy-mm>      <at>#<run id>             audit records of retention runs and erasures (counts only)
  BACKSTOPREVIEW       <channel>                 a raised retention: the TTL backstops of that channel to move out
  CANNED               CANNED#<id>               canned response (one partition: a team has dozens)
  CANNEDSHORTCUT#<s>   CANNEDSHORTCUT            shortcut uniqueness
  (growth)
  LINKS                LINK#<link id>            an entry link (wa.me, m.me, t.me, ig.me, the widget's data-source)
  SOURCE#<link id>     <created>#<conv id>       a conversation that came through the link (its source filter)
  WEBHOOKS             ENDPOINT#<id>             an endpoint registered for events (CRMs and other systems)
  WEBHOOK#<endpoint>   DELIVERY#<at>#<event id>  one event's delivery to it: the delivery log, and its retries
                                                 (DueIndex DUE#webhook while due, DUE#webhook_parked#<endpoint> parked)
  AUDIT#<yyyy-mm>      <at>#<request id>         an agent's or admin's action (who, what, target id)
"""

from __future__ import annotations

import hashlib

Key = dict[str, str]

META = "META"
MSG_PREFIX = "MSG#"


def conversation(conv_id: str) -> Key:
    return {"pk": f"CONV#{conv_id}", "sk": META}


def message(conv_id: str, created_at: str, msg_id: str) -> Key:
    return {"pk": f"CONV#{conv_id}", "sk": f"{MSG_PREFIX}{created_at}#{msg_id}"}


def conversation_pk(conv_id: str) -> str:
    return f"CONV#{conv_id}"


def contact(contact_id: str) -> Key:
    return {"pk": f"CONTACT#{contact_id}", "sk": "PROFILE"}


def identity(identity_id: str) -> Key:
    return {"pk": f"IDENTITY#{identity_id}", "sk": "IDENTITY"}


def contact_identity(contact_id: str, identity_id: str, channel: str | None = None) -> Key:
    """The contact's link to an identity; `channel` for each further channel that shares it (WhatsApp and SMS
    share a phone number)."""
    return {"pk": f"CONTACT#{contact_id}", "sk": f"IDENTITY#{identity_id}" + (f"#{channel}" if channel else "")}


def contact_conversation(contact_id: str, conv_id: str) -> Key:
    return {"pk": f"CONTACT#{contact_id}", "sk": f"CONV#{conv_id}"}


def active_conversation(channel: str, inbox_id: str, contact_id: str) -> Key:
    return {"pk": f"ACTIVE#{channel}#{inbox_id}#{contact_id}", "sk": "ACTIVE"}


def inbound_marker(channel: str, provider_id: str) -> Key:
    return {"pk": f"INBOUND#{channel}#{provider_id}", "sk": "INBOUND"}


def provider_message(channel: str, provider_id: str) -> Key:
    return {"pk": f"PROVIDERMSG#{channel}#{provider_id}", "sk": "PROVIDERMSG"}


def canned_pk() -> str:
    return "CANNED"


def canned(canned_id: str) -> Key:
    return {"pk": canned_pk(), "sk": f"CANNED#{canned_id}"}


def canned_shortcut(shortcut: str) -> Key:
    return {"pk": f"CANNEDSHORTCUT#{shortcut.lower()}", "sk": "CANNEDSHORTCUT"}


def contact_pk(contact_id: str) -> str:
    return f"CONTACT#{contact_id}"


# -- indexes ---------------------------------------------------------------------------------
INBOX_BY_STATUS = "GSI1"
INBOX_BY_ASSIGNEE = "GSI2"
DUE_INDEX = "DueIndex"


def inbox_status_pk(status: str) -> str:
    return f"STATUS#{status}"


def inbox_assignee_pk(agent: str) -> str:
    return f"ASSIGNEE#{agent.lower()}"


def inbox_sort(updated_at: str, conv_id: str) -> str:
    return f"{updated_at}#{conv_id}"


def inbox_keys(status: str, assignee: str | None, updated_at: str, conv_id: str) -> dict[str, str]:
    """The index attributes a conversation item carries (GSI2 only while assigned: sparse)."""
    sort = inbox_sort(updated_at, conv_id)
    keys = {"gsi1pk": inbox_status_pk(status), "gsi1sk": sort, "gsi2sk": sort}
    if assignee:
        keys |= {"gsi2pk": inbox_assignee_pk(assignee), "gsi2sk": sort}
    return keys


def due(conv_id: str, job: str) -> Key:
    return {"pk": conversation_pk(conv_id), "sk": f"DUE#{job}"}


def due_index(job: str, due_at: str, conv_id: str) -> dict[str, str]:
    return {"due_pk": f"DUE#{job}", "due_sk": f"{due_at}#{conv_id}"}


def due_pk(job: str) -> str:
    return f"DUE#{job}"


def retention_due(conv_id: str, channel: str, last_activity: str) -> dict[str, str]:
    """Retention is scheduled by last activity per channel, so a policy change needs no rewrite:
    the job asks each channel's partition for what is older than that channel's cut-off."""
    return {**due(conv_id, "retention"), "due_pk": f"DUE#retention#{channel}", "due_sk": f"{last_activity}#{conv_id}"}


def retention_due_pk(channel: str) -> str:
    return f"DUE#retention#{channel}"


def greeted(contact_id: str, message_id: str | None = None) -> Key:
    """The greeting on first contact (once ever), or again for one message after a quiet spell."""
    return {"pk": contact_pk(contact_id), "sk": f"GREETED#{message_id}" if message_id else "GREETED"}


def away_sent(conv_id: str, local_day: str) -> Key:
    return {"pk": conversation_pk(conv_id), "sk": f"AWAY#{local_day}"}


SURVEY_PREFIX = "SURVEY#"


def survey(conv_id: str, resolution: str) -> Key:
    return {"pk": conversation_pk(conv_id), "sk": f"{SURVEY_PREFIX}{resolution}"}


def suppression(address: str) -> Key:
    """Keyed by a hash: the list of addresses never to mail again keeps no address in the clear."""
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()
    return {"pk": f"SUPPRESS#{digest}", "sk": "SUPPRESS"}


def metrics_day(day: str) -> Key:
    return {"pk": f"METRICS#{day}", "sk": "DAY"}


AGENTS_PK = "AGENTS"


def agent(email: str) -> Key:
    """An agent's availability and load (one partition: a team has dozens, read in one Query)."""
    return {"pk": AGENTS_PK, "sk": f"AGENT#{email.lower()}"}


def settings_doc() -> Key:
    return {"pk": "SETTINGS", "sk": "AUTOMATION"}


def audit(month: str, at: str, run_id: str) -> Key:
    return {"pk": f"AUDIT#{month}", "sk": f"{at}#{run_id}"}


BACKSTOP_REVIEW_PK = "BACKSTOPREVIEW"


def backstop_review(channel: str) -> Key:
    """A channel whose retention was raised: its conversations' TTL backstops are moved out by the retention job."""
    return {"pk": BACKSTOP_REVIEW_PK, "sk": channel}


def retention_reviewed() -> Key:
    """The retention days per channel that the TTL backstops were last reviewed for (a raise is measured from it)."""
    return {"pk": "RETENTIONPOLICY", "sk": "REVIEWED"}


# -- growth: entry links and sources, event endpoints and deliveries, audit of actions ---------------------------
LINKS_PK = "LINKS"
WEBHOOKS_PK = "WEBHOOKS"
WEBHOOK_DUE = "webhook"  # DueIndex partition DUE#webhook: deliveries due (a retry, or an attempt whose lease ran out)


def link(link_id: str) -> Key:
    return {"pk": LINKS_PK, "sk": f"LINK#{link_id}"}


def source_pk(link_id: str) -> str:
    return f"SOURCE#{link_id}"


def source_conversation(link_id: str, created_at: str, conv_id: str) -> Key:
    """A conversation that came through an entry link: the link's partition lists them, newest first."""
    return {"pk": source_pk(link_id), "sk": f"{created_at}#{conv_id}"}


def webhook_endpoint(endpoint_id: str) -> Key:
    return {"pk": WEBHOOKS_PK, "sk": f"ENDPOINT#{endpoint_id}"}


def webhook_deliveries_pk(endpoint_id: str) -> str:
    return f"WEBHOOK#{endpoint_id}"


DELIVERY_PREFIX = "DELIVERY#"


def webhook_delivery(endpoint_id: str, event_created_at: str, event_id: str) -> Key:
    return {"pk": webhook_deliveries_pk(endpoint_id), "sk": f"{DELIVERY_PREFIX}{event_created_at}#{event_id}"}


def webhook_due(when: str, endpoint_id: str, event_id: str) -> dict[str, str]:
    return {"due_pk": due_pk(WEBHOOK_DUE), "due_sk": f"{when}#{endpoint_id}#{event_id}"}


def webhook_parked_pk(endpoint_id: str) -> str:
    return f"DUE#webhook_parked#{endpoint_id}"


def webhook_parked(endpoint_id: str, parked_at: str, event_id: str) -> dict[str, str]:
    """A delivery that failed for 24 hours, parked per endpoint until an admin replays it."""
    return {"due_pk": webhook_parked_pk(endpoint_id), "due_sk": f"{parked_at}#{event_id}"}


def audit_pk(month: str) -> str:
    return f"AUDIT#{month}"
