"""Response: the ephemeral key (``client_secret``) to hand to a browser."""

from __future__ import annotations

from datetime import datetime, timezone

from openapiopenai.models.openapi_model import ResponseModel


class RealtimeSessionCreateResponseClientSecret(ResponseModel):
    """The ephemeral key and when it expires.

    ``value`` is readable and present in ``to_dict()``/``to_json()`` (it is meant for the
    browser) but masked in ``repr``, ``str`` and ``to_str()`` so it does not end up in logs.
    """

    __secret_fields__ = frozenset({"value"})

    value: str
    expires_at: int

    @property
    def expires_at_datetime(self) -> datetime:
        """``expires_at`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.expires_at, tz=timezone.utc)
