"""Channel secrets: from the environment where set (local stack, tests), else SSM Parameter Store, cached."""

from __future__ import annotations

from switchboard.errors import ServiceUnavailable
from switchboard.settings import get_settings

CACHE_SECONDS = 300


def get(name: str) -> str:
    """`name` is a Settings field ("meta_app_secret"); its `<name>_param` field names the SSM parameter."""
    settings = get_settings()
    value = getattr(settings, name)
    if value:
        return value
    param = getattr(settings, f"{name}_param", "")
    if not param:
        return ""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        return parameters.get_parameter(param, decrypt=True, max_age=CACHE_SECONDS) or ""
    except GetParameterError as exc:  # Powertools wraps every SSM failure (missing, denied, unreachable) in it
        raise ServiceUnavailable(f"secret {name} unavailable") from exc
