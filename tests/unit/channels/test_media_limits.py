"""Rich replies: what each channel's files may be (channels/base.py MediaLimits, filled by each channel), how a reply
is split into provider messages, and the POST policy the local stack checks as S3 does. No network."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from infra.local.moto_speedups import post_policy_problem
from switchboard.channels import registry
from switchboard.channels.base import MB, megabytes, one_file_per_part
from switchboard.channels.email import MAX_FILES_BYTES, SES_MAX_MESSAGE_BYTES
from switchboard.models import OutboundFile, SendRequest

OK, REFUSED = True, False
CASES = [  # channel, content type, size, accepted
    ("whatsapp", "image/jpeg", 5 * MB, OK), ("whatsapp", "image/png", 5 * MB + 1, REFUSED),
    ("whatsapp", "image/gif", 10, REFUSED), ("whatsapp", "image/webp", 10, REFUSED),
    ("whatsapp", "audio/ogg", 16 * MB, OK), ("whatsapp", "audio/mpeg", 16 * MB + 1, REFUSED),
    ("whatsapp", "video/mp4", 16 * MB, OK), ("whatsapp", "video/quicktime", 10, REFUSED),
    ("whatsapp", "application/pdf", 100 * MB, OK), ("whatsapp", "application/pdf", 100 * MB + 1, REFUSED),
    ("whatsapp", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 10, OK),
    ("whatsapp", "application/zip", 10, REFUSED),
    ("messenger", "image/gif", 25 * MB, OK), ("messenger", "application/zip", 25 * MB, OK),
    ("messenger", "video/webm", 25 * MB + 1, REFUSED),
    ("instagram", "image/png", 8 * MB, OK), ("instagram", "image/png", 8 * MB + 1, REFUSED),
    ("instagram", "video/mp4", 25 * MB, OK), ("instagram", "application/pdf", 25 * MB + 1, REFUSED),
    ("instagram", "application/zip", 10, REFUSED),
    ("telegram", "application/zip", 50 * MB, OK), ("telegram", "image/png", 50 * MB + 1, REFUSED),
    ("sms", "image/gif", 5 * MB, OK), ("sms", "video/3gpp", 5 * MB + 1, REFUSED), ("sms", "application/pdf", 10, OK),
    ("sms", "application/zip", 10, REFUSED),
    ("email", "application/zip", MAX_FILES_BYTES, OK), ("email", "application/pdf", MAX_FILES_BYTES + 1, REFUSED),
    ("webchat", "image/png", 10 * MB, OK), ("webchat", "image/png", 10 * MB + 1, REFUSED),
    ("webchat", "image/svg+xml", 10, OK),  # sent as a document, never shown inline
    ("whatsapp", "image/png", 0, REFUSED), ("telegram", "not a type", 10, REFUSED),
]


@pytest.mark.parametrize(("channel", "content_type", "size", "accepted"), CASES,
                         ids=[f"{c}-{t}-{n}" for c, t, n, _ in CASES])
def test_each_channel_takes_its_own_types_and_sizes(channel, content_type, size, accepted):
    problem = registry.get(channel).file_problem(content_type, size, "file.bin")
    assert (problem is None) is accepted, problem


def test_the_refusal_says_what_the_channel_takes():
    problem = registry.get("whatsapp").file_problem("application/zip", 10)
    assert problem == ("whatsapp cannot send files of type application/zip: it takes images (jpeg, png), audio (aac, "
                       "amr, m4a, mp3, ogg), video (3gpp, mp4), documents (doc, docx, pdf, ppt, pptx, txt, xls, xlsx)")
    assert registry.get("whatsapp").file_problem("image/png", 6 * MB) == \
        "whatsapp takes image files up to 5 MB (this one is 6 MB)"
    assert registry.get("webchat").file_kind("image/svg+xml") == "document"
    assert megabytes(1536) == "2 KB" and megabytes(int(2.5 * MB)) == "2.5 MB"


def test_email_counts_the_whole_message_as_ses_does():
    # base64 turns 57 bytes into 78 characters on the wire: the files fit 40 MB with room for text and headers
    assert MAX_FILES_BYTES * 78 / 57 + 256 * 1024 <= SES_MAX_MESSAGE_BYTES
    email = registry.get("email")
    assert email.files_problem([("application/pdf", MAX_FILES_BYTES // 2)] * 2, "ann@example.org") is None
    assert "in one reply" in email.files_problem([("application/pdf", MAX_FILES_BYTES // 2 + 1)] * 2, "a@b.c")
    assert email.file_problem("application/octet-stream", 10, "setup.EXE") == "Amazon SES does not send .exe attachments"
    assert email.file_problem("application/pdf", 10, "setup.exe.pdf") is None


def test_twilio_mms_is_5_mb_in_all_from_and_to_north_american_numbers_only():
    sms = registry.get("sms")
    assert sms.files_problem([("image/png", 3 * MB)], "+15551234567", inbox_id="+15550001111") is None
    assert "5 MB" in sms.files_problem([("image/png", 3 * MB)] * 2, "+15551234567", inbox_id="+15550001111")
    for recipient, inbox in (("+447700900123", "+15550001111"), ("+15551234567", "+447700900000")):
        assert "US and Canadian" in sms.files_problem([("image/png", 10)], recipient, inbox_id=inbox)
    assert sms.files_problem([("image/png", 10)], "+15551234567", inbox_id="MG123") is None  # a Messaging Service
    assert sms.files_problem([("image/png", 10)] * 11, "+15551234567") is not None  # ten MediaUrls at most


def test_whatsapp_files_cannot_ride_in_the_late_reply_template():
    whatsapp = registry.get("whatsapp")
    assert "24-hour" in whatsapp.files_problem([("image/png", 10)], "15551234567", past_window=True)
    assert whatsapp.files_problem([("image/png", 10)], "15551234567") is None


def test_web_chats_limit_is_a_setting_and_visitors_send_images_and_pdfs(settings_env):
    settings_env(WEBCHAT_MAX_FILE_BYTES="2048")
    webchat = registry.get("webchat")
    assert webchat.file_problem("application/zip", 2048) is None and webchat.file_problem("image/png", 2049)
    visitors = webchat.visitor_limits()  # type: ignore[attr-defined]
    assert visitors.problem("web chat", "application/pdf", 2048) is None
    assert visitors.problem("web chat", "image/webp", 100) is None
    assert visitors.problem("web chat", "application/zip", 100) and visitors.problem("web chat", "image/svg+xml", 9)


def request(text: str, *kinds: str, reply_to: str | None = "wamid.Q") -> SendRequest:
    files = [OutboundFile(index=i, kind=k, mime_type={"image": "image/png", "audio": "audio/ogg"}.get(k, "application/pdf"),  # type: ignore[arg-type]
                          size=10, s3_key=f"media/c/m/{i}") for i, k in enumerate(kinds)]
    return SendRequest(channel="whatsapp", inbox_id="1", recipient="2", text=text, files=files, reply_to=reply_to)


def shape(parts: list[SendRequest]) -> list[tuple[str, list[int], str | None]]:
    return [(p.text, [f.index for f in p.files], p.reply_to) for p in parts]


def test_a_reply_is_split_into_one_part_per_file_with_the_text_as_a_caption_where_it_can_be():
    whatsapp, messenger, sms = (registry.get(c) for c in ("whatsapp", "messenger", "sms"))
    assert shape(whatsapp.send_parts(request("hi", "image", "document"))) == [
        ("hi", [0], "wamid.Q"), ("", [1], None)]
    # audio takes no caption, and a caption has a limit: the text then goes first, on its own
    assert shape(whatsapp.send_parts(request("hi", "audio"))) == [("hi", [], "wamid.Q"), ("", [0], None)]
    assert shape(whatsapp.send_parts(request("x" * 1025, "image"))) == [("x" * 1025, [], "wamid.Q"), ("", [0], None)]
    assert shape(whatsapp.send_parts(request("", "image", "image"))) == [("", [0], "wamid.Q"), ("", [1], None)]
    # Messenger attachments carry no text
    assert shape(messenger.send_parts(request("hi", "image"))) == [("hi", [], "wamid.Q"), ("", [0], None)]
    # one MMS, one email, one web chat message carry everything
    assert shape(sms.send_parts(request("hi", "image", "document"))) == [("hi", [0, 1], "wamid.Q")]
    # the same reply always splits the same way (a retry skips the parts recorded as sent)
    assert shape(whatsapp.send_parts(request("hi", "image", "document"))) == \
        shape(whatsapp.send_parts(request("hi", "image", "document")))


def policy(conditions: list, expires: datetime | None = None) -> dict[str, str]:
    doc = {"expiration": (expires or datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "conditions": conditions}
    return {"policy": base64.b64encode(json.dumps(doc).encode()).decode()}


def test_the_local_stack_checks_a_post_policy_as_s3_does():
    conditions = [{"Content-Type": "image/png"}, ["content-length-range", 10, 10], {"bucket": "b"}, {"key": "uploads/x"},
                  ["starts-with", "$x-amz-meta-filename", ""]]
    fields = policy(conditions) | {"key": "uploads/x", "Content-Type": "image/png", "x-amz-meta-filename": "a.png",
                                   "x-amz-signature": "s"}
    assert post_policy_problem(fields, "b", 10) is None
    assert post_policy_problem(fields, "b", 11)[0] == "EntityTooLarge"
    assert post_policy_problem(fields, "b", 9)[0] == "EntityTooSmall"
    assert post_policy_problem(fields | {"Content-Type": "image/gif"}, "b", 10)[:2] == ("AccessDenied", 403)
    assert post_policy_problem(fields | {"key": "media/x"}, "b", 10)[:2] == ("AccessDenied", 403)
    assert post_policy_problem(fields, "other", 10)[:2] == ("AccessDenied", 403)
    assert "Extra input" in post_policy_problem(fields | {"acl": "public-read"}, "b", 10)[2]
    expired = policy(conditions, datetime.now(UTC) - timedelta(seconds=1))
    assert "expired" in post_policy_problem(fields | expired, "b", 10)[2]
    assert post_policy_problem({"policy": "not base64 json"}, "b", 1)[0] == "InvalidPolicyDocument"


def test_one_file_per_part_keeps_the_first_parts_quote_only():
    parts = one_file_per_part(request("", "document", "document", "document", reply_to="q"))
    assert [p.reply_to for p in parts] == ["q", None, None]
