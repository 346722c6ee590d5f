"""Channel name -> implementation. Adding a channel is its name in channel_names.Channel and one line here."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from switchboard import channel_names
from switchboard.channels.base import Channel
from switchboard.errors import NotFound

# Imported lazily so that a function pays only for the channels it uses.
CHANNELS: dict[channel_names.Channel, str] = {
    "whatsapp": "switchboard.channels.whatsapp:WhatsAppChannel",
    "messenger": "switchboard.channels.messenger:MessengerChannel",
    "instagram": "switchboard.channels.instagram:InstagramChannel",
    "telegram": "switchboard.channels.telegram:TelegramChannel",
    "sms": "switchboard.channels.sms:SmsChannel",
    "email": "switchboard.channels.email:EmailChannel",
    "webchat": "switchboard.channels.webchat:WebchatChannel",
    "voice": "switchboard.channels.voice:VoiceChannel",  # issue 17: voicemail (Twilio Voice)
}
if tuple(CHANNELS) != channel_names.CHANNELS:  # one implementation per name of the Literal, in its order
    raise ImportError(f"the registry's channels {tuple(CHANNELS)} differ from channel_names.CHANNELS")


@cache
def get(name: str) -> Channel:
    target = CHANNELS.get(name)  # type: ignore[call-overload]  # any string may come in: unknown ones are 404
    if target is None:
        raise NotFound(f"unknown channel {name!r}", code="unknown_channel")
    module, cls = target.split(":")
    try:
        return getattr(import_module(module), cls)()
    except ModuleNotFoundError as exc:
        if exc.name == module:
            raise NotFound(f"channel {name!r} is not available", code="unknown_channel") from None
        raise
