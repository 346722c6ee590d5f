"""Real-world-shaped mail, written by hand after the forms mail systems send (RFC 3464 DSNs as Gmail, Exchange Online,
Amazon SES and qmail write them; an RFC 5965 complaint report; an RFC 8098 read receipt; out-of-office replies from
Exchange and a vacation responder; Mailman list mail; a newsletter; our own automatic reply come back).

Each is a function of the Message-ID it reports on or answers (`ours`), the customer's address and our inbox, so
that a test can name one of its own replies. Bytes, CRLF line ends, as they arrive from SES.
"""

from __future__ import annotations

INBOX = "support@acme.test"
CUSTOMER = "ann.smith@example.com"


def crlf(text: str) -> bytes:
    return text.lstrip("\n").replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def gmail_dsn(ours: str, customer: str = CUSTOMER, inbox: str = INBOX) -> bytes:
    """Gmail's "Address not found" bounce: multipart/report with a human part, the delivery status and the headers."""
    return crlf(f"""
Return-Path: <>
Received: by mail-sor-f69.google.com with SMTP id a640c23a62f3a-a9a1b2c3d4
Date: Tue, 01 Oct 2024 08:01:12 -0700 (PDT)
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {inbox}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
Message-ID: <66fc1234.050a0220.1a2b3c.0000.GMR@mx.google.com>
X-Failed-Recipients: {customer}
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000a1b2c3d4e5f6"; report-type=delivery-status

--000000000000a1b2c3d4e5f6
Content-Type: multipart/related; boundary="000000000000a1b2c3d4e5f7"

--000000000000a1b2c3d4e5f7
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f8"

--000000000000a1b2c3d4e5f8
Content-Type: text/plain; charset="UTF-8"


** Address not found **

Your message wasn't delivered to {customer} because the address couldn't be found, or is unable to receive mail.

Learn more here: https://support.google.com/mail/?p=NoSuchUser

The response was:

The email account that you tried to reach does not exist. Please try double-checking the recipient's email
address for typos or unnecessary spaces.

--000000000000a1b2c3d4e5f8
Content-Type: text/html; charset="UTF-8"

<html><body><h2>Address not found</h2><p>Your message wasn't delivered to <b>{customer}</b>.</p></body></html>

--000000000000a1b2c3d4e5f8--
--000000000000a1b2c3d4e5f7--
--000000000000a1b2c3d4e5f6
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; a9-183.smtp-out.amazonses.com
Arrival-Date: Tue, 01 Oct 2024 08:01:11 -0700 (PDT)
X-Original-Message-ID: {ours}

Final-Recipient: rfc822; {customer}
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2a00:1450:400c:c0b::1a, the server for the domain example.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try
 550-5.1.1 double-checking the recipient's email address for typos or
 550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser a1si123456wra.99 - gsmtp
Last-Attempt-Date: Tue, 01 Oct 2024 08:01:12 -0700 (PDT)

--000000000000a1b2c3d4e5f6
Content-Type: message/rfc822

From: Acme Support <{inbox}>
To: {customer}
Subject: Re: Order 42
Date: Tue, 01 Oct 2024 15:01:10 +0000
Message-ID: {ours}
Content-Type: text/plain; charset="utf-8"

Your order ships today.

--000000000000a1b2c3d4e5f6--
""")


def exchange_ndr(ours: str, customer: str = CUSTOMER, inbox: str = INBOX) -> bytes:
    """Exchange Online's "Undeliverable" NDR: the original's headers only (text/rfc822-headers), status 5.1.10."""
    return crlf(f"""
Return-Path: <>
From: Microsoft Outlook
 <postmaster@contoso.onmicrosoft.com>
To: <{inbox}>
Date: Tue, 1 Oct 2024 15:05:43 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="b9a0c7f2-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: <7d1e3f2a-9b8c-4d7e-a6f5-e4d3c2b1a098@DM6PR11MB1234.namprd11.prod.outlook.com>
In-Reply-To: {ours}
References: {ours}
Thread-Topic: Re: Order 42
Subject: Undeliverable: Re: Order 42
Auto-Submitted: auto-replied
MIME-Version: 1.0

--b9a0c7f2-1c2d-4e5f-8a9b-0c1d2e3f4a5b
Content-Type: multipart/alternative; differences=Content-Type;
	boundary="7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918"

--7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Your message to {customer} couldn't be delivered.
The email address wasn't found at the destination domain. It might be misspe=
lled or it might not exist.

--7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to {customer} couldn't be delivered.</p></body></html>

--7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918--

--b9a0c7f2-1c2d-4e5f-8a9b-0c1d2e3f4a5b
Content-Type: message/delivery-status

Reporting-MTA: dns;DM6PR11MB1234.namprd11.prod.outlook.com
Received-From-MTA: dns;a9-183.smtp-out.amazonses.com
Arrival-Date: Tue, 1 Oct 2024 15:05:41 +0000

Original-Recipient: rfc822;{customer}
Final-Recipient: rfc822;{customer}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {customer} not found by SMTP address lookup

--b9a0c7f2-1c2d-4e5f-8a9b-0c1d2e3f4a5b
Content-Type: text/rfc822-headers

Received: from a9-183.smtp-out.amazonses.com (54.240.9.183) by
 DM6PR11MB1234.mail.protection.outlook.com with Microsoft SMTP Server;
 Tue, 1 Oct 2024 15:05:41 +0000
From: Acme Support <{inbox}>
To: {customer}
Subject: Re: Order 42
Message-ID:
 {ours}
Date: Tue, 1 Oct 2024 15:05:40 +0000
MIME-Version: 1.0

--b9a0c7f2-1c2d-4e5f-8a9b-0c1d2e3f4a5b--
""")


def ses_forwarded_bounce(ses_id: str, customer: str = CUSTOMER, inbox: str = INBOX) -> bytes:
    """SES's email feedback forwarding: a bounce of a message SES sent (its Message-ID is SES's own), mailed to us."""
    return crlf(f"""
Return-Path: <>
From: MAILER-DAEMON@amazonses.com
To: {inbox}
Subject: Delivery Status Notification (Failure)
Message-ID: <0100019251e1b5a1-bounce-0000@email.amazonses.com>
Date: Tue, 1 Oct 2024 15:10:02 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
    boundary="RAA14128.773615765/email.amazonses.com"

This is a MIME-encapsulated message

--RAA14128.773615765/email.amazonses.com
Content-Type: text/plain

An error occurred while trying to deliver the mail to the following recipients:
{customer}

--RAA14128.773615765/email.amazonses.com
Content-Type: message/delivery-status

Reporting-MTA: dns; a9-183.smtp-out.amazonses.com

Action: failed
Final-Recipient: rfc822; {customer}
Diagnostic-Code: smtp; 550 5.1.1 user unknown
Status: 5.1.1

--RAA14128.773615765/email.amazonses.com
Content-Type: message/rfc822

From: {inbox}
To: {customer}
Subject: Re: Order 42
Message-ID: <{ses_id}@email.amazonses.com>
Date: Tue, 1 Oct 2024 15:10:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Your order ships today.

--RAA14128.773615765/email.amazonses.com--
""")


def qmail_failure(ours: str, customer: str = CUSTOMER, inbox: str = INBOX) -> bytes:
    """qmail's "failure notice": no multipart/report, the original quoted in the text."""
    return crlf(f"""
Return-Path: <>
Date: 1 Oct 2024 15:12:00 -0000
From: MAILER-DAEMON@mail.example.net
To: {inbox}
Subject: failure notice

Hi. This is the qmail-send program at mail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{customer}>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <{inbox}>
From: Acme Support <{inbox}>
To: {customer}
Subject: Re: Order 42
Message-ID: {ours}

Your order ships today.
""")


def arf_complaint(ours: str, customer: str = CUSTOMER, inbox: str = INBOX) -> bytes:
    """A mailbox provider's feedback-loop complaint (RFC 5965): the user marked our reply as spam."""
    return crlf(f"""
Return-Path: <feedback@arf.mail.example-mailbox.com>
From: Feedback Loop <feedback@arf.mail.example-mailbox.com>
To: {inbox}
Subject: FW: Re: Order 42
Date: Tue, 01 Oct 2024 16:00:00 +0000
Message-ID: <1727798400.123456@arf.mail.example-mailbox.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
54.240.9.183 on Tue, 01 Oct 2024 15:01:10 +0000.
For more information about this format please see http://www.mipassoc.org/arf/.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleMailboxFBL/1.0
Version: 1
Original-Mail-From: <{inbox}>
Original-Rcpt-To: <{customer}>
Arrival-Date: Tue, 01 Oct 2024 15:01:10 +0000
Reported-Domain: acme.test
Source-IP: 54.240.9.183

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

From: Acme Support <{inbox}>
To: {customer}
Subject: Re: Order 42
Date: Tue, 01 Oct 2024 15:01:10 +0000
Message-ID: {ours}

Your order ships today.

--part1_13d.2e68ed54_boundary--
""")


def read_receipt(ours: str, customer: str = CUSTOMER, inbox: str = INBOX) -> bytes:
    """A read receipt (RFC 8098 MDN) as Thunderbird sends one."""
    return crlf(f"""
From: Ann Smith <{customer}>
To: {inbox}
Subject: Return Receipt (displayed) - Re: Order 42
Date: Tue, 1 Oct 2024 17:30:00 +0200
Message-ID: <a1b2c3d4-mdn@example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification;
 boundary="------------mdn0123456789"

This is a multi-part message in MIME format.
--------------mdn0123456789
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 7bit

This is a Return Receipt for the mail that you sent to {customer}.

Note: This Return Receipt only acknowledges that the message was displayed on the recipient's computer.

--------------mdn0123456789
Content-Type: message/disposition-notification; name="MDNPart2.txt"
Content-Disposition: inline
Content-Transfer-Encoding: 7bit

Reporting-UA: example.com; Thunderbird 128.2.3esr
Final-Recipient: rfc822;{customer}
Original-Message-ID: {ours}
Disposition: manual-action/MDN-sent-manually; displayed

--------------mdn0123456789
Content-Type: text/rfc822-headers; name="MDNPart3.txt"
Content-Disposition: inline

From: Acme Support <{inbox}>
To: {customer}
Subject: Re: Order 42
Message-ID: {ours}

--------------mdn0123456789--
""")


def outlook_auto_reply(ours: str, customer: str = CUSTOMER, inbox: str = INBOX) -> bytes:
    """Exchange Online's out-of-office reply: it says auto-generated, and answers our reply (In-Reply-To)."""
    return crlf(f"""
From: Ann Smith <{customer}>
To: Acme Support <{inbox}>
Subject: Automatic reply: Re: Order 42
Thread-Topic: Re: Order 42
Thread-Index: AQHbE2x8gM5V3kK9XUuF4hXz0t5Vbg==
Date: Tue, 1 Oct 2024 15:01:15 +0000
Message-ID: <DM6PR11MB1234OOF0A1B2C3D4E5F6@DM6PR11MB1234.namprd11.prod.outlook.com>
References: {ours}
In-Reply-To: {ours}
Content-Language: en-US
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
auto-submitted: auto-generated
x-ms-exchange-generated-message-source: Mailbox Rules Agent
X-Auto-Response-Suppress: All
Content-Type: multipart/alternative;
	boundary="_000_DM6PR11MB1234OOF_"
MIME-Version: 1.0

--_000_DM6PR11MB1234OOF_
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

I am out of the office until 14 October with limited access to e-mail. For u=
rgent matters please contact my colleague.

--_000_DM6PR11MB1234OOF_
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<html><body><p>I am out of the office until 14 October.</p></body></html>

--_000_DM6PR11MB1234OOF_--
""")


def vacation_reply(ours: str | None, customer: str = CUSTOMER, inbox: str = INBOX) -> bytes:
    """A vacation responder's answer (RFC 3834: Auto-Submitted: auto-replied), with or without threading headers."""
    thread = f"In-Reply-To: {ours}\nReferences: {ours}\n" if ours else ""
    return crlf(f"""
Return-Path: <>
From: Ann Smith <{customer}>
To: {inbox}
Subject: Auto: Re: Order 42
Date: Tue, 1 Oct 2024 17:01:15 +0200
Message-ID: <vacation-1727794875@example.com>
{thread}Auto-Submitted: auto-replied
Precedence: auto_reply
X-Autoreply: yes
Content-Type: text/plain; charset=utf-8

I'm on holiday until Monday.
""")


def mailman_list_mail(sender: str = "bob@example.org", inbox: str = INBOX) -> bytes:
    """A Mailman 3 list message reaching the inbox (the support address is subscribed)."""
    return crlf(f"""
From: Bob Builder <bob@example.org>
To: dev@lists.example.org
Subject: [dev] Release 2.4 is out
Date: Tue, 1 Oct 2024 12:00:00 +0000
Message-ID: <20241001120000.GA1234@example.org>
List-Id: Developers <dev.lists.example.org>
List-Archive: <https://lists.example.org/hyperkitty/list/dev@lists.example.org/>
List-Help: <mailto:dev-request@lists.example.org?subject=help>
List-Post: <mailto:dev@lists.example.org>
List-Subscribe: <mailto:dev-join@lists.example.org>
List-Unsubscribe: <mailto:dev-leave@lists.example.org>
Precedence: list
Sender: dev-bounces@lists.example.org
Errors-To: dev-bounces@lists.example.org
Delivered-To: {inbox}
Content-Type: text/plain; charset=utf-8

Release 2.4 is out: see the notes on the website.
""").replace(b"From: Bob Builder <bob@example.org>", f"From: Bob Builder <{sender}>".encode())


def newsletter(sender: str = "news@shop.example.com", inbox: str = INBOX) -> bytes:
    """A marketing newsletter: bulk, with List-Unsubscribe and an HTML body."""
    return crlf(f"""
From: Shop News <{sender}>
To: {inbox}
Subject: 20% off this week only
Date: Tue, 1 Oct 2024 09:00:00 +0000
Message-ID: <nl-20241001-abc@shop.example.com>
List-Unsubscribe: <https://shop.example.com/unsubscribe?u=abc>, <mailto:unsubscribe@shop.example.com>
List-Unsubscribe-Post: List-Unsubscribe=One-Click
Precedence: bulk
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><h1>20% off</h1><p>This week only.</p></body></html>
""")


def our_auto_reply_come_back(inbox: str = INBOX, customer: str = CUSTOMER) -> bytes:
    """Our own greeting, forwarded back to our inbox by the customer's forwarding rule (From rewritten by it)."""
    return crlf(f"""
From: "Acme Support via Ann" <{customer}>
To: {inbox}
Subject: Re: Order 42
Date: Tue, 1 Oct 2024 15:02:00 +0000
Message-ID: <m_01J9ZZGREETING@acme.test>
Auto-Submitted: auto-replied
X-Loop: {inbox}
Content-Type: text/plain; charset=utf-8

Thanks for writing to us! We will answer soon.
""")


def outlook_html_with_blank_text(customer: str = CUSTOMER, inbox: str = INBOX) -> bytes:
    """Outlook on some setups: a text/plain alternative holding only blank lines, the words in the HTML."""
    return crlf(f"""
From: Ann Smith <{customer}>
To: {inbox}
Subject: Broken charger
Date: Tue, 1 Oct 2024 10:00:00 +0000
Message-ID: <blank-text-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="_alt_"

--_alt_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

=C2=A0
=E2=80=8B

--_alt_
Content-Type: text/html; charset="utf-8"

<html><body><div>My charger stopped working after <b>two days</b>.</div><div>Order 42.</div></body></html>

--_alt_--
""")


def eight_bit_headers(inbox: str = INBOX) -> bytes:
    """Raw 8-bit bytes in headers, as badly behaved clients send them: Latin-1 in the Subject and the display name,
    UTF-8 in a filename, a non-character in the Message-ID, an unknown charset in an encoded word, a NUL."""
    head = (b"From: J\xfcrgen M\xfcller <juergen@example.de>\r\n"
            b"To: " + inbox.encode() + b"\r\n"
            b"Subject: R\xfcckerstattung f\xfcr =?x-unknown?Q?Bestellung?= \xef\xbf\xbe 42\x00\r\n"
            b"Message-ID: <\xef\xbf\xbfid-8bit@example.de>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"b8\"\r\n\r\n")
    return head + (b"--b8\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nBitte erstatten Sie den Betrag.\r\n"
                   b"--b8\r\nContent-Type: application/pdf; name=\"Rechnung \xe2\x82\xac.pdf\"\r\n"
                   b"Content-Disposition: attachment; filename=\"Rechnung \xe2\x82\xac.pdf\"\r\n\r\n%PDF-1.4\r\n"
                   b"--b8--\r\n")


def plain(sender: str = f"Ann Smith <{CUSTOMER}>", inbox: str = INBOX, text: str = "Where is my order?",
          message_id: str = "<plain-1@example.com>", refs: str | None = None, extra: str = "") -> bytes:
    """An ordinary customer mail (optionally answering `refs`)."""
    thread = f"In-Reply-To: {refs.split()[-1]}\nReferences: {refs}\n" if refs else ""
    return crlf(f"""
From: {sender}
To: {inbox}
Subject: Order 42
Date: Tue, 1 Oct 2024 10:00:00 +0000
Message-ID: {message_id}
{thread}{extra}Content-Type: text/plain; charset=utf-8

{text}
""")


# The corpus the property test mutates: every shape above.
CORPUS = [
    gmail_dsn("<m_01J9A@acme.test>"), exchange_ndr("<m_01J9A@acme.test>"), ses_forwarded_bounce("0100019251e1b5a1-x"),
    qmail_failure("<m_01J9A@acme.test>"), arf_complaint("<m_01J9A@acme.test>"), read_receipt("<m_01J9A@acme.test>"),
    outlook_auto_reply("<m_01J9A@acme.test>"), vacation_reply("<m_01J9A@acme.test>"), mailman_list_mail(),
    newsletter(), our_auto_reply_come_back(), outlook_html_with_blank_text(), eight_bit_headers(),
    plain(refs="<m_01J9A@acme.test>"),
]
