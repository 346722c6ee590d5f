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
  TEMPLATES#<channel>  TEMPLATE#<name>#<lang>    an approved message template (WhatsApp), synced from the provider
  TEMPLATES#<channel>  SYNC                      when the templates were last synced, and how many
  RATE#<scope>#<mac>   HOUR#<epoch>              a public client's request counters for one hour (rate limits; TTL)
  ARTICLES             ARTICLE#<id>              help center article: the working copy, its status (one partition)
  ARTICLESLUG#<slug>   ARTICLESLUG               slug uniqueness (slugs are unique across locales)
  HELPPUB              ARTICLE#<id>              the published snapshot of an article (what the static pages show)
  ARTICLESTATS#<id>    TOTAL                     an article's lifetime counts, and whether it may be counted (published)
  HELPSTATS#<yyyy-mm>  <yyyy-mm-dd>#<article id> an article's counts of one day (views, helpful, widget opens...)
  HELPSEARCH#<yyyy-mm> <yyyy-mm-dd>#<query>      searches that found nothing, counted per day (normalized query)
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


# -- message templates and reaching customers first (templates capability) ---------------------------
def templates_pk(channel: str) -> str:
    return f"TEMPLATES#{channel}"


TEMPLATE_PREFIX = "TEMPLATE#"


def template(channel: str, name: str, language: str) -> Key:
    """One approved template: a name has one item per language (one partition per channel: a business has dozens
    to a few hundred, read in one Query)."""
    return {"pk": templates_pk(channel), "sk": f"{TEMPLATE_PREFIX}{name}#{language}"}


def templates_sync(channel: str) -> Key:
    return {"pk": templates_pk(channel), "sk": "SYNC"}


# -- rate limits (issue 11) ------------------------------------------------------------------------
def rate_counters(scope: str, subject: str, hour_start: int) -> Key:
    """The request counters of one client (`subject`: a keyed hash of a visitor id or an address, never the value
    itself) in one hour: one item per client and hour, one attribute per window inside it."""
    return {"pk": f"RATE#{scope}#{subject}", "sk": f"HOUR#{hour_start}"}


# -- help center (issue 18) ------------------------------------------------------------------------
ARTICLES_PK = "ARTICLES"
ARTICLE_PREFIX = "ARTICLE#"
HELP_PUBLISHED_PK = "HELPPUB"


def article(article_id: str) -> Key:
    """An article's working copy (one partition: a help center has tens to hundreds, listed in one Query)."""
    return {"pk": ARTICLES_PK, "sk": f"{ARTICLE_PREFIX}{article_id}"}


def article_slug(slug: str) -> Key:
    return {"pk": f"ARTICLESLUG#{slug}", "sk": "ARTICLESLUG"}


def published_article(article_id: str) -> Key:
    """What is public of an article: every published snapshot in one partition, which the publisher reads whole."""
    return {"pk": HELP_PUBLISHED_PK, "sk": f"{ARTICLE_PREFIX}{article_id}"}


def article_stats(article_id: str) -> Key:
    return {"pk": f"ARTICLESTATS#{article_id}", "sk": "TOTAL"}


def help_stats_pk(month: str) -> str:
    return f"HELPSTATS#{month}"


def help_stats(day: str, article_id: str) -> Key:
    """An article's counters of one day, in its month's partition: a report reads a month in one Query."""
    return {"pk": help_stats_pk(day[:7]), "sk": f"{day}#{article_id}"}


def failed_searches_pk(month: str) -> str:
    return f"HELPSEARCH#{month}"


def failed_search(day: str, query: str) -> Key:
    return {"pk": failed_searches_pk(day[:7]), "sk": f"{day}#{query}"}
