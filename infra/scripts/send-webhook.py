#!/usr/bin/env python3
"""Send one customer message to a Switchboard webhook, signed as its provider signs it: the walk-through's example
for every channel, without hand-made signatures.

Secrets default to the local stack's documented defaults and can be overridden by the same environment variables
`make dev` reads (META_APP_SECRET, TELEGRAM_SECRET_TOKEN, TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL). Standard library only.

  python infra/scripts/send-webhook.py whatsapp --text "Where is my order?"
  python infra/scripts/send-webhook.py sms --from +15551234567 --text "STOP"
  python infra/scripts/send-webhook.py email --from ann@example.org --subject "Refund" --text "Hello"
  python infra/scripts/send-webhook.py voice --from +15551234567            # a call that leaves a voicemail
  python infra/scripts/send-webhook.py voice --from +15551234567 --missed   # a call that hangs up before the tone
  python infra/scripts/send-webhook.py --url http://127.0.0.1:3000 telegram --text "hi" --print
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

CHANNELS = ("whatsapp", "messenger", "instagram", "telegram", "sms", "email", "webchat", "voice")
# The local stack's defaults (infra/local/stack.py LOCAL_SECRETS); the environment overrides them.
DEFAULTS = {"META_APP_SECRET": "local-meta-app-secret", "TELEGRAM_SECRET_TOKEN": "local-telegram-secret",
            "TWILIO_AUTH_TOKEN": "local-twilio-token"}
# The business's addresses the examples write to. Locally a channel's first address is adopted as its inbox and
# events for any other are ignored until an admin allows it (README: Inboxes, teams and unknown addresses).
BUSINESS = {"whatsapp": "200000000000002", "messenger": "100000000000001", "instagram": "17841400000000001",
            "sms": "+15550001111", "email": "support@switchboard.local"}


def secret(name: str) -> str:
    return os.environ.get(name) or DEFAULTS[name]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Each channel's payload follows channels.md; the answer is printed.")
    parser.add_argument("--url", default=os.environ.get("SB", "http://127.0.0.1:3000"),
                        help="the local stack or deployed API (default: $SB or http://127.0.0.1:3000)")
    parser.add_argument("--print", action="store_true", dest="show", help="print the signed request, do not send")
    parser.add_argument("channel", choices=CHANNELS)
    parser.add_argument("--text", default="Hello, I have a question about my order.", help="what the customer writes")
    parser.add_argument("--from", dest="sender", help="the customer's address: a phone number (WhatsApp, SMS), an "
                        "id (Messenger, Instagram, Telegram) or an email address")
    parser.add_argument("--name", default="Ann Example", help="the customer's display name")
    parser.add_argument("--id", dest="message_id", help="the provider's message id (default: a new one); send the same "
                        "id twice to see a redelivery stored once")
    parser.add_argument("--subject", default="A question", help="email: the subject")
    # voice (issue 17): a call is the incoming-call webhook (answered with TwiML), then the recording callback the
    # TwiML names (or, with --missed, the call's status callback without a recording)
    parser.add_argument("--missed", action="store_true", help="voice: the caller hangs up before the tone")
    parser.add_argument("--recordings", help="voice: where the recording is served (default: the local sandbox, "
                        "<url>/_sandbox/twilio)")
    parser.add_argument("--choice", help="rich replies: the id of a button the customer picks (an in-channel survey's "
                        "csat:<n>:<resolution>, from GET /_local/outbox); --text is its title. WhatsApp (a list reply), "
                        "Messenger and Instagram (a quick reply), Telegram (a button press), web chat")
    # issue 17: comments under a post (Facebook Page `feed`, Instagram `comments`) instead of a direct message
    parser.add_argument("--comment", action="store_true", help="messenger, instagram: a public comment under a post "
                        "(--id is the comment id; send it again with --verb edited or remove)")
    parser.add_argument("--post", default="POST1", help="with --comment: the post's id (default POST1)")
    parser.add_argument("--parent", help="with --comment: the comment it answers (joins that comment's thread)")
    parser.add_argument("--verb", choices=("add", "edited", "remove"), default="add", help="with --comment, Facebook: "
                        "what happened to the comment")
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://", "https://")):
        parser.error("--url must be http:// or https://")
    return args


def request_for(args: argparse.Namespace) -> tuple[str, bytes, dict[str, str]]:
    """(path, body, headers) of the signed provider request."""
    now = int(time.time())
    mid = args.message_id or uuid.uuid4().hex
    channel = args.channel
    if channel == "whatsapp":
        sender = (args.sender or "15551234567").lstrip("+")
        payload: Any = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
            "field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": BUSINESS["whatsapp"]},
                "contacts": [{"profile": {"name": args.name}, "wa_id": sender}],
                "messages": [{"from": sender, "id": f"wamid.{mid}", "timestamp": str(now), "type": "text",
                              "text": {"body": args.text}}]}}]}]}
        if args.choice:  # the customer picks a row of an interactive list
            payload["entry"][0]["changes"][0]["value"]["messages"][0] |= {"type": "interactive", "interactive": {
                "type": "list_reply", "list_reply": {"id": args.choice, "title": args.text}}}
            del payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]
        return _meta("whatsapp", payload)
    if channel in ("messenger", "instagram") and args.comment:
        return _meta(channel, comment_payload(args, channel, mid, now))
    if channel in ("messenger", "instagram"):
        payload = {"object": "page" if channel == "messenger" else "instagram", "entry": [{
            "id": BUSINESS[channel], "time": now * 1000, "messaging": [{
                "sender": {"id": args.sender or "2400000000000001"}, "recipient": {"id": BUSINESS[channel]},
                "timestamp": now * 1000, "message": {"mid": f"m_{mid}", "text": args.text}}]}]}
        if args.choice:  # a quick reply
            payload["entry"][0]["messaging"][0]["message"]["quick_reply"] = {"payload": args.choice}
        return _meta(channel, payload)
    if channel == "telegram":
        chat = int(args.sender or 700000001)
        first, _, last = args.name.partition(" ")
        payload = {"update_id": int(mid, 16) % 2**31 if not args.message_id else int(args.message_id), "message": {
            "message_id": now % 2**31, "date": now, "text": args.text,
            "chat": {"id": chat, "type": "private", "first_name": first},
            "from": {"id": chat, "is_bot": False, "first_name": first, "last_name": last or None}}}
        if args.choice:  # a press of an inline keyboard's button
            payload = {"update_id": payload["update_id"], "callback_query": {
                "id": mid[:16], "from": payload["message"]["from"], "data": args.choice,
                "message": {"message_id": now % 2**31, "date": now, "chat": payload["message"]["chat"]}}}
        body = json.dumps(payload).encode()
        return "/webhooks/telegram", body, {"Content-Type": "application/json",
                                            "X-Telegram-Bot-Api-Secret-Token": secret("TELEGRAM_SECRET_TOKEN")}
    if channel == "sms":
        params = {"MessageSid": f"SM{mid[:32]}", "AccountSid": "AC" + "0" * 32, "From": args.sender or "+15551234567",
                  "To": BUSINESS["sms"], "Body": args.text, "NumMedia": "0", "SmsStatus": "received"}
        public = os.environ.get("PUBLIC_BASE_URL") or args.url
        signed = public.rstrip("/") + "/webhooks/sms" + "".join(k + params[k] for k in sorted(params))
        signature = base64.b64encode(hmac.new(secret("TWILIO_AUTH_TOKEN").encode(), signed.encode(),
                                              hashlib.sha1).digest()).decode()
        return "/webhooks/sms", urllib.parse.urlencode(params).encode(), {
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    if channel == "email":
        mail = EmailMessage()
        mail["From"] = f"{args.name} <{args.sender or 'ann@example.org'}>"
        mail["To"] = BUSINESS["email"]
        mail["Subject"] = args.subject
        mail["Date"] = format_datetime(datetime.now(UTC))
        mail["Message-ID"] = args.message_id or make_msgid(domain="example.org")
        mail.set_content(args.text)
        # Locally SES is emulated by POST /_local/email (deployed, mail arrives through an SES receipt rule).
        return "/_local/email", mail.as_bytes(), {"Content-Type": "message/rfc822"}
    raise ValueError(channel)


def twilio_form(url: str, params: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """A form body signed as Twilio signs it: the full URL (with its query), then each parameter name+value."""
    signed = url + "".join(k + params[k] for k in sorted(params))
    signature = base64.b64encode(hmac.new(secret("TWILIO_AUTH_TOKEN").encode(), signed.encode(),
                                          hashlib.sha1).digest()).decode()
    return urllib.parse.urlencode(params).encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                                     "X-Twilio-Signature": signature}


def voice(args: argparse.Namespace) -> tuple[int, str]:
    """A call as Twilio makes it: the incoming call (TwiML back), then the recording callback at the URL the TwiML
    names, or with --missed the status callback of a call that ended without one."""
    import re

    mid = (args.message_id or uuid.uuid4().hex).ljust(32, "0")[:32]
    public = (os.environ.get("PUBLIC_BASE_URL") or args.url).rstrip("/")
    account = "AC" + "0" * 32
    the_call = {"CallSid": f"CA{mid}", "AccountSid": account, "From": args.sender or "+15551234567",
                "To": BUSINESS["sms"], "Direction": "inbound"}
    steps: list[tuple[str, dict[str, str]]] = [(f"{public}/webhooks/voice", {**the_call, "CallStatus": "ringing"})]
    if args.missed:
        steps.append((f"{public}/webhooks/voice", {**the_call, "CallStatus": "completed", "CallDuration": "4"}))
    answers = []
    for url, params in steps:
        body, headers = twilio_form(url, params)
        if args.show:
            print(f"POST {url}\n" + "".join(f"{k}: {v}\n" for k, v in headers.items()) + "\n" + body.decode() + "\n")
            continue
        status, answer = call(args.url + url[len(public):], body, headers)
        answers.append(f"{status} {answer.strip()[:800]}")
        if status >= 300:
            return status, "\n".join(answers)
    if args.missed or args.show:
        return 200, "\n".join(answers)
    callback = re.search(r'recordingStatusCallback="([^"]+)"', answers[0])
    if not callback:
        return 502, "\n".join([*answers, "the TwiML names no recordingStatusCallback"])
    url = callback.group(1).replace("&amp;", "&")
    recordings = (args.recordings or f"{args.url}/_sandbox/twilio").rstrip("/")
    recording = f"RE{mid}"
    params = {"CallSid": f"CA{mid}", "AccountSid": account, "RecordingSid": recording, "RecordingStatus": "completed",
              "RecordingUrl": f"{recordings}/2010-04-01/Accounts/{account}/Recordings/{recording}",
              "RecordingDuration": "12", "RecordingChannels": "1", "RecordingSource": "RecordVerb"}
    body, headers = twilio_form(url, params)
    status, answer = call(args.url + url[len(public):], body, headers)
    answers.append(f"{status} {answer.strip()[:500]}")
    return status, "\n".join(answers)


def comment_payload(args: argparse.Namespace, channel: str, mid: str, now: int) -> dict[str, Any]:
    """issue 17: a comment under one of the business's posts, as Meta's `feed` (Facebook) or `comments` (Instagram)
    webhook field sends it."""
    sender = args.sender or "2400000000000001"
    if channel == "messenger":
        post_id = f"{BUSINESS['messenger']}_{args.post}"
        comment_id = args.message_id or f"{post_id}_{mid[:12]}"
        value: dict[str, Any] = {
            "from": {"id": sender, "name": args.name}, "post_id": post_id, "comment_id": comment_id,
            "parent_id": args.parent or post_id, "item": "comment", "verb": args.verb, "created_time": now,
            "message": args.text}
        return {"object": "page", "entry": [{"id": BUSINESS["messenger"], "time": now * 1000,
                                             "changes": [{"field": "feed", "value": value}]}]}
    value = {"from": {"id": sender, "username": args.name.lower().replace(" ", ".")}, "id": args.message_id or mid[:17],
             "text": args.text, "media": {"id": args.post, "media_product_type": "FEED"}}
    if args.parent:
        value["parent_id"] = args.parent
    return {"object": "instagram", "entry": [{"id": BUSINESS["instagram"], "time": now * 1000,
                                              "changes": [{"field": "comments", "value": value}]}]}


def _meta(channel: str, payload: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret("META_APP_SECRET").encode(), body, hashlib.sha256).hexdigest()
    return f"/webhooks/{channel}", body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}


def call(url: str, body: bytes | None, headers: dict[str, str], method: str = "POST") -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 - checked in parse_args
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def webchat(args: argparse.Namespace) -> tuple[int, str]:
    """The widget's two calls: a session (a visitor token), then the message."""
    status, answer = call(args.url + "/webchat/sessions", json.dumps({"name": args.name}).encode(),
                          {"Content-Type": "application/json"})
    if status != 201 and status != 200:
        return status, answer
    token = json.loads(answer)["token"]
    body = {"client_message_id": args.message_id or uuid.uuid4().hex, "text": args.text}
    if args.choice:  # a button of an agent's message
        body["payload"] = args.choice
    return call(args.url + "/webchat/messages", json.dumps(body).encode(),
                {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.url = args.url.rstrip("/")
    if args.channel == "voice":
        status, answer = voice(args)
        if args.show:
            return 0
    elif args.channel == "webchat":
        if args.show:
            print("web chat needs no signature: POST /webchat/sessions, then POST /webchat/messages with its token")
            return 0
        status, answer = webchat(args)
    else:
        path, body, headers = request_for(args)
        if args.show:
            print(f"POST {args.url}{path}")
            for name, value in headers.items():
                print(f"{name}: {value}")
            print()
            print(body.decode("utf-8", "replace"))
            return 0
        status, answer = call(args.url + path, body, headers)
    print(f"{status} {answer.strip()[:500]}")
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
