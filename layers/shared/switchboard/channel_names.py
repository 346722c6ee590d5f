"""The channel names: one Literal that the models, the registry, the automation settings and the frontend (through
config.json) derive from. Adding a channel starts here. No pydantic: the registry imports it at a function's init."""

from __future__ import annotations

from typing import Literal, get_args

Channel = Literal["whatsapp", "messenger", "instagram", "telegram", "sms", "email", "webchat", "voice"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)
