"""What ``*_with_http_info`` returns: the parsed body plus the HTTP details around it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ApiResponse(Generic[T]):
    """A successful response: ``data`` is the parsed model, ``raw_data`` the bytes received.

    ``raw_data`` holds the ephemeral key in clear, so it is left out of ``repr``.
    """

    status_code: int
    headers: Mapping[str, str] | None
    data: T
    raw_data: bytes = field(repr=False)
    attempts: int = 1

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` header, the reference OpenAI support asks for."""
        return self.headers.get("x-request-id") if self.headers is not None else None
