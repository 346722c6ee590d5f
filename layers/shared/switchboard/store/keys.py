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
  COMMENTTHREAD#<ch>#<inbox>#<comment> ACTIVE    a public comment thread's conversation (issue 17)
  PRIVATEREPLY#<ch>#<comment>    PRIVATEREPLY    the one private reply to a comment was claimed (issue 17)
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
  AUDIT#<yyyy-mm>      <at>#<run id>             audit records of retention runs, erasures (counts only), merges
  BACKSTOPREVIEW       <channel>                 a raised retention: the TTL backstops of that channel to move out
  CANNED               CANNED#<id>               canned response (one partition: a team has dozens)
  CANNEDSHORTCUT#<s>   CANNEDSHORTCUT            shortcut uniqueness
  DIRECTORY            INBOX#<inbox id>          an inbox (one partition with the teams: a business has dozens)
  DIRECTORY            TEAM#<team id>            a team: name, members
  DIRECTORY            ADOPTED#<channel>         the channel's first inbox (trust on first use)
  INBOXIGNORED         <inbox id>                an unknown business address whose events were ignored (counted)
  conversations also carry inbox_sk: InboxIndex, the inbox by status (GSI1's partition) and inbox
  TEMPLATES#<channel>  TEMPLATE#<name>#<lang>    an approved message template (WhatsApp), synced from the provider
  TEMPLATES#<channel>  SYNC                      when the templates were last synced, and how many
  RATE#<scope>#<mac>   HOUR#<epoch>              a public client's request counters for one hour (rate limits; TTL)
  CONV#<id>            DUE#snooze                a snoozed conversation's wake-up     DueIndex DUE#snooze
  CONV#<id>            DUE#sla#<target>          an SLA target's next warning/breach  DueIndex DUE#sla
  CONV#<id>            DUE#transcript#<msg id>   a voicemail's transcription checked  DueIndex DUE#transcript
  ATTRDEF              ATTR#<key>                a custom attribute's definition
  (growth)
  LINKS                LINK#<link id>            an entry link (wa.me, m.me, t.me, ig.me, the widget's data-source)
  SOURCE#<link id>     <created>#<conv id>       a conversation that came through the link (its source filter)
  WEBHOOKS             ENDPOINT#<id>             an endpoint registered for events (CRMs and other systems)
  WEBHOOK#<endpoint>   DELIVERY#<at>#<event id>  one event's delivery to it: the delivery log, and its retries
                                                 (DueIndex DUE#webhook while due, DUE#webhook_parked#<endpoint> parked)
  AUDIT#<yyyy-mm>      <at>#<request id>         an agent's or admin's action (who, what, target id)
  (rich replies) message items also carry msg_id: MessageIndex, a message by its id (quoted replies, retries)
  (the live workspace, issue 15)
  NOTIFY#<agent email> N#<notification id>       a notification for one agent (id: time-ordered, stable; TTL)
  CONV#<id>            NOTIFYREF#<agent>#<nid>   the conversation's way to its notifications (erasure, retention)
  WSCONN#AGENTS        <connection id>           an agent's WebSocket connection (push fan-out; TTL)
  WSCONN#VISITOR#<v>   <connection id>           a web chat visitor's connection (their conversations' events; TTL)
  WSCONN#<conn id>     WSCONN                    a connection -> the partition it is listed in ($disconnect)
  ARTICLES             ARTICLE#<id>              help center article: the working copy, its status (one partition)
  ARTICLESLUG#<slug>   ARTICLESLUG               slug uniqueness (slugs are unique across locales)
  HELPPUB              ARTICLE#<id>              the published snapshot of an article (what the static pages show)
  ARTICLESTATS#<id>    TOTAL                     an article's lifetime counts, and whether it may be counted (published)
  HELPSTATS#<yyyy-mm>  <yyyy-mm-dd>#<article id> an article's counts of one day (views, helpful, widget opens...)
  HELPSEARCH#<yyyy-mm> <yyyy-mm-dd>#<query>      searches that found nothing, counted per day (normalized query)
  (reports)
  REPORT#<local day>   <dimension>               one day's report counters of one dimension (agents, labels, channels,
                                                 sources, inboxes), per key; the day in the business time zone
  CONV#<id>            HANDLED#<agent>           the agent handled it (counted once in the agents report)
  conversations also carry created_pk = CREATED#<utc day>, created_sk = <created>#<id>: CreatedIndex, conversations
  by the day they were created (the conversation export); and contact_pk = CONTACT#<contact id> (with created_sk):
  ContactIndex, a contact's conversations newest first with what a search result shows of them
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


def comment_thread(channel: str, inbox_id: str, thread_id: str) -> Key:
    """issue 17: the conversation of a public comment thread (its top-level comment), claimed like ACTIVE."""
    return {"pk": f"COMMENTTHREAD#{channel}#{inbox_id}#{thread_id}", "sk": "ACTIVE"}


def private_reply(channel: str, comment_id: str) -> Key:
    """issue 17: Meta allows one private reply per comment: its claim."""
    return {"pk": f"PRIVATEREPLY#{channel}#{comment_id}", "sk": "PRIVATEREPLY"}


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


# -- inboxes and teams (issue 14) ------------------------------------------------------------------------------------
DIRECTORY_PK = "DIRECTORY"
INBOX_PREFIX = "INBOX#"
TEAM_PREFIX = "TEAM#"
ADOPTED_PREFIX = "ADOPTED#"
IGNORED_INBOXES_PK = "INBOXIGNORED"
INBOX_BY_INBOX = "InboxIndex"


def inbox(inbox_id: str) -> Key:
    """An inbox, beside the teams in one partition: the whole directory is one Query."""
    return {"pk": DIRECTORY_PK, "sk": f"{INBOX_PREFIX}{inbox_id}"}


def team(team_id: str) -> Key:
    return {"pk": DIRECTORY_PK, "sk": f"{TEAM_PREFIX}{team_id}"}


def adopted(channel: str) -> Key:
    """Which address was the channel's first inbox: the claim that makes trust on first use happen once."""
    return {"pk": DIRECTORY_PK, "sk": f"{ADOPTED_PREFIX}{channel}"}


def ignored_inbox(inbox_id: str) -> Key:
    """Its own partition, away from the directory: addresses nobody allowed must not slow down reading it."""
    return {"pk": IGNORED_INBOXES_PK, "sk": inbox_id}


def inbox_scope_prefix(inbox_id: str) -> str:
    return f"{inbox_id}#"


def inbox_scope_sk(inbox_id: str, updated_at: str, conv_id: str) -> str:
    """InboxIndex's sort key: the inbox, then GSI1's sort key. The index's partition key is GSI1's (the status), so
    a status change needs no write of ours; only activity moves it, with gsi1sk."""
    return f"{inbox_scope_prefix(inbox_id)}{inbox_sort(updated_at, conv_id)}"
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
# -- organizing the queue (issue 14) ---------------------------------------------------------------------------------
# Three more views of the conversations, each partitioned like GSI1 (gsi1pk = STATUS#<status>), so that a status
# change moves a conversation in all of them with the one gsi1pk write it makes already. Only their sort keys are new:
QUEUE_INDEX = "QueueIndex"  # gsi1pk / queue_sk: priority, then how long the customer has waited (every conversation)
PRIORITY_INDEX = "PriorityIndex"  # gsi1pk / prio_sk: one priority, newest activity first (sparse: not normal)
SLA_INDEX = "SlaIndex"  # gsi1pk / sla_sk: the SLA due time nearest (sparse: while an SLA target runs)
PRIORITY_RANKS = {"urgent": "1", "high": "2", "normal": "3", "low": "4"}
NOT_WAITING = "~"  # sorts after every time: nobody waits for us


def priority_rank(priority: str | None) -> str:
    return PRIORITY_RANKS.get(priority or "normal", PRIORITY_RANKS["normal"])


def queue_sort(priority: str | None, waiting_since: str | None, conv_id: str) -> str:
    """QueueIndex: the priority's rank, then since when the customer waits (not waiting: after those who do)."""
    return f"{priority_rank(priority)}#{waiting_since or NOT_WAITING}#{conv_id}"


def priority_sort(priority: str | None, updated_at: str, conv_id: str) -> str | None:
    """PriorityIndex: a priority other than normal, then activity (None for normal: not in the index)."""
    if (priority or "normal") == "normal":
        return None
    return f"{priority_rank(priority)}#{updated_at}#{conv_id}"


def sla_sort(due_at: str, conv_id: str) -> str:
    return f"{due_at}#{conv_id}"


SNOOZE, SLA_PREFIX = "snooze", "sla#"  # DueIndex jobs: DUE#snooze, DUE#sla (one entry per target: DUE#sla#<target>)


def sla_due_job(target: str) -> str:
    return f"{SLA_PREFIX}{target}"


ATTRIBUTES_PK = "ATTRDEF"


def attribute_definition(key: str) -> Key:
    """A custom attribute's definition (one partition: a team has dozens, read in one Query)."""
    return {"pk": ATTRIBUTES_PK, "sk": f"ATTR#{key}"}
# -- contacts and search (issue 14) ------------------------------------------------------------
# TERM#<word>          <conv id>                 a word of the conversation's customer messages (or subject)
# LABEL#<label>        <conv id>                 a label of the conversation
# CTERM#<2 chars>      <term>#<newest>#<contact> a contact's name word, email, phone digits or handle (by prefix)
# CONTACT#<id> PROFILE carries gsi2pk = CONTACTS, gsi2sk = <last activity>#<id>: the directory (GSI2, overloaded)
CONTACTS_BY_ACTIVITY = "GSI2"  # a second partition of GSI2: contacts, newest activity first
CONTACTS_PK = "CONTACTS"
SEARCH_TERM_PREFIX = "TERM#"
CONTACT_TERM_PREFIX = "CTERM#"


def search_term_pk(term: str) -> str:
    return f"{SEARCH_TERM_PREFIX}{term}"


def search_term(term: str, conv_id: str) -> Key:
    """Conversation ids are time-ordered: a word's conversations sort newest first, descending."""
    return {"pk": search_term_pk(term), "sk": conv_id}


def search_label_pk(label: str) -> str:
    return f"LABEL#{label}"


def search_label(label: str, conv_id: str) -> Key:
    return {"pk": search_label_pk(label), "sk": conv_id}


def contact_term_pk(term: str) -> str:
    """Partitioned by the term's first two characters: a prefix of two or more finds its partition."""
    return f"{CONTACT_TERM_PREFIX}{term[:2]}"


def _newest_first(contact_id: str) -> str:
    """The contact's creation time (ms, in its time-ordered id) counted down, so that ascending order is newest
    first among contacts with the same word."""
    stamp = contact_id.removeprefix("ct_")[:12]
    try:
        return f"{0xFFFFFFFFFFFF - int(stamp, 16):012x}"
    except ValueError:
        return "f" * 12


def contact_term(term: str, contact_id: str) -> Key:
    return {"pk": contact_term_pk(term), "sk": f"{term}#{_newest_first(contact_id)}#{contact_id}"}


def contact_activity(at: str, contact_id: str) -> dict[str, str]:
    """The directory's index keys on a contact's profile (sparse GSI2 partition CONTACTS)."""
    return {"gsi2pk": CONTACTS_PK, "gsi2sk": f"{at}#{contact_id}"}
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
# -- automation rules and macros (issue 19) -------------------------------------------------------------------------
# RULES                RULE#<rule id>            a rule (one partition: a business has dozens, read in one Query)
# RULES                VERSION                   changed with every rule change (caches compare it)
# MACROS               MACRO#<macro id>          a macro, shared or an agent's own (one partition, read in one Query)
# CONV#<id>            RULERUN#<rule>#<event>    one rule's run for one event of the conversation: the once-only claim
#                                                and its outcome; GSI1 RULERUNS#<rule> / <at>#<conv>: the rule's runs
# CONV#<id>            DUE#idle                  the conversation's idle timer        DueIndex DUE#idle
# CONV#<id>            DUE#rule_mail#<run>       a notify_email action's mail          DueIndex DUE#rule_mail
RULES_PK, MACROS_PK = "RULES", "MACROS"
IDLE, RULE_MAIL = "idle", "rule_mail"  # DueIndex jobs


def rule(rule_id: str) -> Key:
    return {"pk": RULES_PK, "sk": f"RULE#{rule_id}"}


def rules_version() -> Key:
    """Changed with every rule change: a cached list of rules is read again only when it moved."""
    return {"pk": RULES_PK, "sk": "VERSION"}


def macro(macro_id: str) -> Key:
    return {"pk": MACROS_PK, "sk": f"MACRO#{macro_id}"}


def rule_run(conv_id: str, rule_id: str, event_id: str) -> Key:
    """Under the conversation: erasure and retention, which delete its partition, take its runs with it."""
    return {"pk": conversation_pk(conv_id), "sk": f"RULERUN#{rule_id}#{event_id}"}


def rule_runs_pk(rule_id: str) -> str:
    return f"RULERUNS#{rule_id}"


def rule_run_index(rule_id: str, at: str, conv_id: str) -> dict[str, str]:
    """GSI1 (overloaded, like GSI2's CONTACTS partition): a rule's runs, newest first."""
    return {"gsi1pk": rule_runs_pk(rule_id), "gsi1sk": f"{at}#{conv_id}"}


def rule_mail(conv_id: str, run_key: str) -> Key:
    return due(conv_id, f"{RULE_MAIL}#{run_key}")


# -- voicemail (issue 17): a transcription job's end, checked by TimersFunction if its event never came -------------
TRANSCRIPT = "transcript"  # DueIndex job DUE#transcript; an entry per voicemail, in its conversation's partition


def transcript_check(conv_id: str, msg_id: str) -> Key:
    return due(conv_id, f"{TRANSCRIPT}#{msg_id}")



# -- reports (issue 16): daily report counters per dimension, and conversations by creation day ----------------------
def report_day(day: str, dimension: str) -> Key:
    """One day's (business time zone) counters of one report dimension: a report reads one item per day."""
    return {"pk": f"REPORT#{day}", "sk": dimension}


def report_handled(conv_id: str, agent: str) -> Key:
    """An agent handled the conversation (assigned, answered first, resolved): counted once in their report."""
    return {"pk": f"CONV#{conv_id}", "sk": f"HANDLED#{agent.lower()}"}


CREATED_INDEX = "CreatedIndex"  # created_pk / created_sk: conversations by the UTC day they were created


def created_pk(utc_day: str) -> str:
    return f"CREATED#{utc_day}"


def created_keys(created_at: str, conv_id: str) -> dict[str, str]:
    """CreatedIndex's attributes on a conversation item."""
    return {"created_pk": created_pk(created_at[:10]), "created_sk": f"{created_at}#{conv_id}"}


CONTACT_CONVERSATIONS = "ContactIndex"  # contact_pk / created_sk: a contact's conversations, newest first


def contact_conversations(contact_id: str) -> dict[str, str]:
    """ContactIndex's partition attribute on a conversation item (its sort key is CreatedIndex's created_sk). Its
    own attribute, not contact_id: other items carry a contact_id, and an index key must be a string wherever it is."""
    return {"contact_pk": contact_pk(contact_id)}


# -- the live workspace (issue 15): notifications, WebSocket connections ---------------------------------------------
NOTIFICATION_PREFIX = "N#"
NOTIFICATION_REF_PREFIX = "NOTIFYREF#"
WS_AGENTS_PK = "WSCONN#AGENTS"
WS_CONNECTION_SK = "WSCONN"


def notifications_pk(agent: str) -> str:
    return f"NOTIFY#{agent.lower()}"


def notification(agent: str, notification_id: str) -> Key:
    return {"pk": notifications_pk(agent), "sk": f"{NOTIFICATION_PREFIX}{notification_id}"}


def notification_ref(conv_id: str, agent: str, notification_id: str) -> Key:
    return {"pk": conversation_pk(conv_id), "sk": f"{NOTIFICATION_REF_PREFIX}{agent.lower()}#{notification_id}"}


def ws_visitor_pk(visitor_id: str) -> str:
    return f"WSCONN#VISITOR#{visitor_id}"


def ws_listing(partition: str, connection_id: str) -> Key:
    return {"pk": partition, "sk": connection_id}


def ws_connection(connection_id: str) -> Key:
    return {"pk": f"WSCONN#{connection_id}", "sk": WS_CONNECTION_SK}
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


# -- rich replies (issue 13): a message by its id (MessageIndex: msg_id, keys only, on every message item) ----------
MESSAGE_INDEX = "MessageIndex"


def message_index(msg_id: str) -> dict[str, str]:
    """The attribute that puts a message item in MessageIndex."""
    return {"msg_id": msg_id}
