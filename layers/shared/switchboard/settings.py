"""The settings, read once from the environment. Nothing else in the code reads os.environ.

The model is `switchboard.settings_model.Settings`. It is imported on the first call, not with this module, which
every part of the core imports: a function's init does not load pydantic for it."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from switchboard.settings_model import Settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    from switchboard.settings_model import Settings

    return Settings.model_validate(dict(os.environ))
