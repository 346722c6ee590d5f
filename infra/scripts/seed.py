#!/usr/bin/env python3
"""Fill a running Switchboard (`make dev`) with a few thousand realistic conversations, sent as the providers send
them: signed WhatsApp webhooks (in batches, as Meta batches), signed Twilio SMS, Telegram updates with the secret
token, and email through the local stack's SES stand-in. Names with accents from many countries, phone numbers in
several, email addresses, order numbers and the words customers write, so that search can be tried.

  python infra/scripts/seed.py                       # 3,000 conversations into http://127.0.0.1:3000
  python infra/scripts/seed.py --conversations 500 --seed 7
  python infra/scripts/seed.py --print               # show who and what would be sent, send nothing

The first customers are always the same, to try search with (the script prints them again at the end):
Jānis Bērziņš (WhatsApp +371 2000 0000, "My blender arrived broken"), Zoë Müller (email zoe.muller@example.de,
"Invoice 88231 charged twice"), José García (SMS +34 612 345 678: SMS carries no name), Ann Lee (Telegram).

Secrets default to the local stack's documented defaults; the variables `make dev` reads override them
(META_APP_SECRET, TELEGRAM_SECRET_TOKEN, TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL). Standard library only; the corpus
functions (people, customer_text) are also what `make bench` populates its search benchmark with.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

DEFAULTS = {"META_APP_SECRET": "local-meta-app-secret", "TELEGRAM_SECRET_TOKEN": "local-telegram-secret",
            "TWILIO_AUTH_TOKEN": "local-twilio-token"}
WHATSAPP_NUMBER_ID, SMS_NUMBER, MAILBOX = "200000000000002", "+15550001111", "support@switchboard.local"
BATCH = 25  # WhatsApp messages per POST (Meta batches; small enough for the webhook to claim them itself)

# -- the corpus ------------------------------------------------------------------------------------------------
FIRST = ("Jānis Anna Līga Kārlis Zoë José María Søren Åsa Łukasz Zofia Jürgen Ingrid Chloé François Ana João Bruno "
         "Giulia Matteo Oliver Emma Noah Olivia Liam Sophia Lucas Mia Elias Lea Priya Arjun Aisha Omar Wei Mei Yuki "
         "Hiroshi Nguyễn Thảo Dmitri Olga Ivan Katarzyna Björn Ólafur Sigrún Ilze Andris Rūta Mārtiņš Inese Raimonds "
         "Laura Daniel Sarah Michael David Emily James Hannah Tomás Inés Mateo Valentina Camila Diego Agnieszka Piotr "
         "Ewa Tomasz Nikolaos Eleni Mehmet Ayşe Fatma Ahmet Kofi Amara Chidi Ngozi Sven Freya Linnea Erik Mette Rasmus")
LAST = ("Bērziņš Ozols Kalniņš Liepa Müller Schmidt García Martínez López Hernández Søndergaard Ångström Nowak "
        "Kowalski Wiśniewski Dubois Lefèvre Moreau Rossi Russo Ferrari Esposito Silva Santos Oliveira Costa Smith "
        "Johnson Williams Brown Jones Miller Davis Wilson Taylor Anderson Thomas Lee Martin Patel Sharma Khan Ali Chen "
        "Wang Zhang Li Tanaka Suzuki Sato Nguyễn Trần Ivanov Petrov Sokolova Jensen Nielsen Hansen Johansson "
        "Andersson Karlsson Eriksson Þórsdóttir Jónsson Krūmiņa Vītols Jansons Zariņš Pētersons Ābele Y\u0131lmaz Kaya "
        "Demir Öztürk Papadopoulos Okafor Mensah Nkemelu O'Brien Murphy Walsh MacDonald Dvořák Novák Horváth Kovács")
# (country code, how national numbers start, digits after that)
PHONES = [("371", "2", 7), ("1", "541", 7), ("44", "7911", 6), ("49", "151", 8), ("34", "6", 8), ("46", "70", 7),
          ("55", "119", 8), ("91", "98", 8), ("33", "6", 8), ("48", "60", 7), ("39", "347", 7), ("351", "91", 7)]
PRODUCTS = ("blender kettle toaster headphones charger laptop backpack jacket sneakers mattress sofa lamp router "
            "camera drone keyboard monitor printer vacuum stroller bicycle helmet watch phone tablet speaker "
            "microwave fridge dishwasher heater fan umbrella suitcase perfume moisturizer vitamins coffee grinder "
            "teapot pan skillet knife cutlery curtains rug pillow duvet tent sleeping-bag kayak skateboard").split()
DAMAGE = ("broken cracked scratched dented damaged leaking missing faulty wet crushed torn defective").split()
CITIES = ("Riga Valencia Tartu Berlin Munich Lisbon Porto Madrid Barcelona Milan Rome Paris Lyon Warsaw Krakow "
          "Stockholm Gothenburg Oslo Copenhagen Helsinki Vilnius Tallinn Dublin London Manchester Edinburgh Prague "
          "Vienna Budapest Athens Istanbul Lagos Accra Mumbai Delhi Tokyo Osaka Seoul Toronto Montreal Boston "
          "Chicago Austin Denver Seattle Portland Recife Curitiba Jelgava Liepāja Daugavpils Malmö Ålesund").split()
COLORS = "red blue green black white grey silver gold pink beige navy olive".split()
PLACES = ["the door", "the neighbour's house", "the reception", "the garage", "the mailbox", "the wrong address"]
TEMPLATES = [
    "Hello, where is my order {order}? It was supposed to arrive on Monday.",
    "My {product} arrived {damage}, what can I do?",
    "I would like a refund for the {product}, order {order}.",
    "The {product} stopped working after {n} days.",
    "Can I change the delivery address to {city}?",
    "Invoice {order} shows the wrong amount, I was charged twice.",
    "How do I reset my password? The link in the email expired.",
    "Is the {product} available in {color}?",
    "The courier left the package at {place} and now it is gone.",
    "Do you ship to {city}? And how long does delivery take?",
    "I ordered the {color} {product} but received a {color2} one.",
    "Tracking number {tracking} has not moved for a week.",
    "Please cancel order {order}, I ordered the wrong size.",
    "Thanks, the replacement {product} works great!",
    "Can I pay the invoice by bank transfer instead of card?",
    "My discount code {code} does not work at checkout.",
    "The warranty card for my {product} is missing from the box.",
    "Any news about my return? I sent the {product} back from {city} last week.",
    "Labdien! Mans pasūtījums {order} vēl nav atnācis.",
    "Hola, ¿cuándo llega mi pedido {order}? Gracias.",
    "Hallo, meine Bestellung {order} ist beschädigt angekommen.",
    "Bonjour, je voudrais échanger mon {product}, commande {order}.",
    "ok",
    "thank you!",
    "any news?",
    "Hello?",
]


@dataclass
class Person:
    name: str
    channel: str  # whatsapp, sms, telegram, email
    phone: str | None = None  # E.164
    email: str | None = None
    telegram: int | None = None
    texts: list[str] = field(default_factory=list)
    subject: str | None = None


FIXED = [
    Person("Jānis Bērziņš", "whatsapp", phone="+37120000000",
           texts=["Labdien! My blender arrived broken, the lid is cracked.", "Order 4411, bought last week."]),
    Person("Zoë Müller", "email", email="zoe.muller@example.de", subject="Invoice 88231 charged twice",
           texts=["Hello, my card was charged twice for invoice 88231. Please refund one of the payments."]),
    Person("José García", "sms", phone="+34612345678",
           texts=["Hola, can I change the delivery address to Valencia? Order 5521."]),
    Person("Ann Lee", "telegram", telegram=700000042, texts=["Do you ship to Tartu? I need a kayak by Friday."]),
]


def customer_text(rng: random.Random) -> str:
    """One customer message, as people write them: a template with products, places and numbers."""
    template = rng.choices(TEMPLATES, weights=[8, 8, 6, 5, 4, 4, 3, 3, 3, 3, 2, 3, 3, 2, 2, 2, 2, 3, 1, 1, 1, 1, 4, 4,
                                               3, 2])[0]
    color, color2 = rng.sample(COLORS, 2)
    return template.format(order=rng.randint(10000, 99999), product=rng.choice(PRODUCTS), damage=rng.choice(DAMAGE),
                           n=rng.randint(2, 30), city=rng.choice(CITIES), color=color, color2=color2,
                           place=rng.choice(PLACES), tracking=f"LV{rng.randint(10**8, 10**9 - 1)}",
                           code=f"SAVE{rng.randint(10, 99)}")


def phone_number(rng: random.Random) -> str:
    code, start, digits = rng.choice(PHONES)
    return f"+{code}{start}{rng.randint(0, 10**digits - 1):0{digits}d}"


def email_for(name: str, rng: random.Random) -> str:
    import unicodedata

    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if c.isascii()).lower()
    local = ".".join(part for part in plain.replace("'", "").split() if part) or "customer"
    return f"{local}{rng.randint(1, 999)}@{rng.choice(['example.com', 'example.org', 'mail.example', 'example.lv'])}"


def people(n: int, rng: random.Random, fixed: bool = True) -> list[Person]:
    """`n` customers on the channels in realistic shares, each with one to five messages."""
    out = [Person(**{**p.__dict__, "texts": list(p.texts)}) for p in FIXED][:n] if fixed else []
    first, last = FIRST.split(), LAST.split()
    while len(out) < n:
        name = f"{rng.choice(first)} {rng.choice(last)}"
        channel = rng.choices(["whatsapp", "sms", "telegram", "email"], weights=[60, 15, 10, 15])[0]
        person = Person(name, channel, texts=[customer_text(rng) for _ in range(rng.choice([1, 1, 2, 2, 3, 4, 5]))])
        if channel in ("whatsapp", "sms"):
            person.phone = phone_number(rng)
        elif channel == "telegram":
            person.telegram = 700000000 + len(out) * 7919 % 10**8
        else:
            person.email = email_for(name, rng)
            person.subject = rng.choice(["Order question", "Refund", "Delivery problem", "Invoice", "Re: your order",
                                         "Damaged item", "Change of address", "Warranty"])
        out.append(person)
    return out


# -- sending ---------------------------------------------------------------------------------------------------
def secret(name: str) -> str:
    return os.environ.get(name) or DEFAULTS[name]


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - http(s) only
    for attempt in range(5):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - checked in main
                return response.status
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return exc.code
        except OSError:
            pass
        time.sleep(0.5 * 2**attempt)  # the stack is busy: the provider would retry too
    return 599


def whatsapp_batches(persons: list[Person], base: str, counter: list[int]) -> list[tuple[str, bytes, dict[str, str]]]:
    messages: list[tuple[Person, str, int]] = [(p, t, i) for p in persons for i, t in enumerate(p.texts)]
    requests = []
    for start in range(0, len(messages), BATCH):
        chunk = messages[start:start + BATCH]
        now = int(time.time())
        value = {"messaging_product": "whatsapp",
                 "metadata": {"display_phone_number": "15550001111", "phone_number_id": WHATSAPP_NUMBER_ID},
                 "contacts": [{"profile": {"name": p.name}, "wa_id": (p.phone or "").lstrip("+")}
                              for p in {id(p): p for p, _, _ in chunk}.values()],
                 "messages": [{"from": (p.phone or "").lstrip("+"), "id": f"wamid.seed.{(p.phone or '')[1:]}.{i}",
                               "timestamp": str(now), "type": "text", "text": {"body": text}} for p, text, i in chunk]}
        body = json.dumps({"object": "whatsapp_business_account",
                           "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]}).encode()
        signature = "sha256=" + hmac.new(secret("META_APP_SECRET").encode(), body, hashlib.sha256).hexdigest()
        requests.append((base + "/webhooks/whatsapp", body, {"Content-Type": "application/json",
                                                              "X-Hub-Signature-256": signature}))
        counter[0] += len(chunk)
    return requests


def single_requests(person: Person, base: str) -> list[tuple[str, bytes, dict[str, str]]]:
    out = []
    for i, text in enumerate(person.texts):
        if person.channel == "sms":
            params = {"MessageSid": f"SMseed{(person.phone or '')[1:]}x{i}", "AccountSid": "AC" + "0" * 32,
                      "From": person.phone or "", "To": SMS_NUMBER, "Body": text, "NumMedia": "0",
                      "SmsStatus": "received"}
            public = (os.environ.get("PUBLIC_BASE_URL") or base).rstrip("/")
            signed = public + "/webhooks/sms" + "".join(k + params[k] for k in sorted(params))
            signature = base64.b64encode(hmac.new(secret("TWILIO_AUTH_TOKEN").encode(), signed.encode(),
                                                  hashlib.sha1).digest()).decode()
            out.append((base + "/webhooks/sms", urllib.parse.urlencode(params).encode(),
                        {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}))
        elif person.channel == "telegram":
            first, _, last = person.name.partition(" ")
            chat = person.telegram or 700000001
            update = {"update_id": (chat * 10 + i) % 2**31, "message": {
                "message_id": i + 1, "date": int(time.time()), "text": text,
                "chat": {"id": chat, "type": "private", "first_name": first},
                "from": {"id": chat, "is_bot": False, "first_name": first, "last_name": last or None}}}
            out.append((base + "/webhooks/telegram", json.dumps(update).encode(),
                        {"Content-Type": "application/json",
                         "X-Telegram-Bot-Api-Secret-Token": secret("TELEGRAM_SECRET_TOKEN")}))
        elif person.channel == "email":
            mail = EmailMessage()
            mail["From"] = f"{person.name} <{person.email}>"
            mail["To"] = MAILBOX
            mail["Subject"] = person.subject or "A question"
            mail["Date"] = format_datetime(datetime.now(UTC))
            local = (person.email or "x").split("@")[0]
            mail["Message-ID"] = f"<seed-{local}-{i}@example.org>"
            if i:
                mail["In-Reply-To"] = mail["References"] = f"<seed-{local}-0@example.org>"
            mail.set_content(text)
            out.append((base + "/_local/email?wait=0", mail.as_bytes(), {"Content-Type": "message/rfc822"}))
    return out


def wait_until_processed(base: str, timeout: float) -> bool:
    """Until the processor's queue is empty (the local stack's /_local/queues)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/_local/queues", timeout=10) as response:  # noqa: S310
                queues = json.loads(response.read())
        except (OSError, ValueError):
            return False
        processor = queues.get("ProcessorFunction") or {}
        if not processor.get("visible") and not processor.get("in_flight"):
            return True
        time.sleep(1)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=(__doc__ or "")
                                     .split("\n\n", 1)[1])
    parser.add_argument("--url", default=os.environ.get("SB", "http://127.0.0.1:3000"),
                        help="the local stack (default: $SB or http://127.0.0.1:3000)")
    parser.add_argument("--conversations", type=int, default=3000, help="customers, one conversation each "
                        "(default 3000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed: the same seed sends the same customers")
    parser.add_argument("--workers", type=int, default=4, help="requests sent at once (default 4)")
    parser.add_argument("--print", action="store_true", dest="show", help="list the customers, send nothing")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for the processor to finish")
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://", "https://")):
        parser.error("--url must be http:// or https://")
    if args.conversations < 1:
        parser.error("--conversations must be at least 1")
    base = args.url.rstrip("/")
    persons = people(args.conversations, random.Random(args.seed))
    if args.show:
        for p in persons:
            address = p.phone or p.email or f"telegram {p.telegram}"
            print(f"{p.channel:9} {p.name:28} {address:30} {p.texts[0][:60]}")
        return 0
    counter = [0]
    requests = whatsapp_batches([p for p in persons if p.channel == "whatsapp"], base, counter)
    for person in persons:
        if person.channel != "whatsapp":
            singles = single_requests(person, base)
            counter[0] += len(singles)
            requests.extend(singles)
    started = time.monotonic()
    print(f"sending {counter[0]} messages of {len(persons)} customers in {len(requests)} requests to {base} ...",
          flush=True)
    failed = 0
    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        for n, status in enumerate(pool.map(lambda r: post(*r), requests), 1):
            if status >= 300:
                failed += 1
            if n % 200 == 0:
                print(f"  {n}/{len(requests)} requests, {failed} failed", flush=True)
    print(f"sent in {time.monotonic() - started:.0f} s; {failed} requests failed")
    if not args.no_wait:
        print("waiting for the processor ...", flush=True)
        print("done" if wait_until_processed(base, timeout=1800) else "still processing: check /_local/queues")
    print("\nTry the search box (press / in the app), or GET /api/search?q=... :")
    print('  a name fragment:   "berz" or "jān"      -> Jānis Bērziņš')
    print('  a phone number:    "+371 2000 0000", "0037120000000" or "2000 0000"')
    print('  a word they wrote: "blender"; a subject: "invoice 88231"; an email: "zoe.muller@"')
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
