"""The Realtime protocol without a socket: URLs, handshake headers, events in and out.

Everything here is plain computation on text and models, so it is tested and measured on its
own; :mod:`openapiopenai.realtime.connection` only moves what this module produces.
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
import secrets
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Protocol, cast, get_args
from urllib.parse import quote

from pydantic import PrivateAttr, ValidationError, ValidatorFunctionWrapHandler, WrapValidator

from openapiopenai.exceptions import ApiTypeError, ApiValidationError, ApiValueError
from openapiopenai.models.openapi_model import RESPONSE_CONTEXT, ResponseModel

if TYPE_CHECKING:
    from openapiopenai.models.openapi_model import OpenApiModel, RequestModel

#: Close codes after which iteration ends quietly: a normal end of the conversation.
NORMAL_CLOSURE = 1000
#: A header the GA service refuses (it closes the session with ``beta_api_shape_disabled``).
BETA_HEADER = "openai-beta"
#: How many sent events are remembered, so that an ``error`` event can name its cause.
SENT_EVENTS_REMEMBERED = 256
#: The longest ``event_id`` the service takes (the client events' schemas say so).
MAX_EVENT_ID = 512

_TYPE_TAG = re.compile(rb'"type"\s*:\s*"([^"\\]+)"')


class ServerEvent(Protocol):
    """What every server event :meth:`~RealtimeConnection.recv` gives has, whatever its class:
    its ``type`` and everything it holds (``isinstance`` narrows it to a generated class)."""

    @property
    def type(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


def _as_sent(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """The value checked, or as the server sent it when it is not what was declared."""
    try:
        return handler(value)
    except ValidationError:
        return value


class UnknownServerEvent(ResponseModel):
    """A server event of a type this SDK does not know (or whose body does not match the
    schema of its type): ``type`` and everything else the server sent stay readable, and
    ``to_dict()`` gives it back whole."""

    type: str
    #: Text from any server that keeps to the protocol; kept as sent (and named in
    #: :attr:`problem`) when it is not, since a malformed event must never raise.
    event_id: Annotated[str | None, WrapValidator(_as_sent)] = None
    _problem: str | None = PrivateAttr(default=None)

    @property
    def problem(self) -> str | None:
        """Why a known ``type`` was not read as its class (its body broke the schema)."""
        return self._problem


def websocket_url(http_url: str, query: Mapping[str, str | None]) -> str:
    """``http_url`` with ``https`` -> ``wss`` and ``http`` -> ``ws`` (the host's own path
    kept) and the query's set values percent-encoded."""
    scheme, rest = http_url.split("://", 1)
    pairs = [
        f"{quote(name, safe='')}={quote(value, safe='')}"
        for name, value in query.items()
        if value is not None
    ]
    url = f"{_SCHEMES[scheme]}://{rest}"
    return f"{url}?{'&'.join(pairs)}" if pairs else url


_SCHEMES = {"https": "wss", "http": "ws"}


def handshake_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The upgrade request's headers from the HTTP side's (key, organization, project,
    User-Agent, the caller's own); ``OpenAI-Beta`` is refused, since the GA service closes
    the session when it sees it."""
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered == BETA_HEADER:
            raise ApiValueError(
                "OpenAI-Beta must not be sent: the GA Realtime API closes the session when it "
                "sees it (beta_api_shape_disabled)",
                ["_headers"],
            )
        if lowered not in ("accept", "content-type"):
            kept[name] = value
    return kept


def event_classes(union: Any) -> dict[str, type[OpenApiModel]]:
    """The generated classes of a ``type``-tagged event union, by their ``type`` value."""
    found: dict[str, type[OpenApiModel]] = {}
    pending = [union]
    while pending:
        item = pending.pop()
        if isinstance(item, type) and hasattr(item, "model_fields"):
            found[_type_value(item)] = item
        else:
            pending.extend(get_args(item))
    return found


def _type_value(model: type[Any]) -> str:
    constant = getattr(model, "__constants__", {}).get("type")
    if constant is not None:
        return str(constant)
    annotation = model.model_fields["type"].annotation
    while not isinstance(annotation, str):
        annotation = get_args(annotation)[0]
    return annotation


class ServerEvents:
    """Turns the bytes of a server message into the generated class of its ``type``."""

    __slots__ = ("_classes",)

    def __init__(self, union: Any) -> None:
        # Each class builds its validator the first time an event of its type arrives (a few
        # ms for the largest, well under one for an audio delta): most types never do.
        self._classes = {tag.encode(): model for tag, model in event_classes(union).items()}

    def parse(self, message: bytes | str) -> ServerEvent:
        """The event in ``message``; an unknown or malformed one is an
        :class:`UnknownServerEvent`, never an exception and never another type's class."""
        data = message.encode() if isinstance(message, str) else message
        # The service writes ``type`` first; any other layout takes the general path below.
        found = _TYPE_TAG.search(data)
        model = self._classes.get(found.group(1)) if found is not None else None
        if model is not None:
            try:
                event = model.__pydantic_validator__.validate_json(data, context=RESPONSE_CONTEXT)
            except ValidationError:
                event = None
            if event is not None and event.type.encode() == found.group(1):  # type: ignore[union-attr]
                return cast("ServerEvent", event)
        return self._general(data)

    def _general(self, data: bytes) -> ServerEvent:
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
            return UnknownServerEvent.model_validate({"type": "", "raw": _text(data)})
        model = self._classes.get(parsed["type"].encode())
        if model is not None:
            try:
                return cast("ServerEvent", model.model_validate(parsed, context=RESPONSE_CONTEXT))
            except ValidationError as error:
                problem = str(ApiValidationError.from_pydantic(model.__name__, error))
                return _unknown(parsed, problem)
        return _unknown(parsed, None)


def _unknown(parsed: dict[str, Any], problem: str | None) -> UnknownServerEvent:
    """``parsed`` as an :class:`UnknownServerEvent`, with what is wrong with it, if anything."""
    unknown = UnknownServerEvent.model_validate(parsed)
    event_id = parsed.get("event_id")
    if problem is None and not isinstance(event_id, str | None):
        problem = f"event_id must be a string, not {type(event_id).__name__}"
    unknown._problem = problem
    return unknown


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class ClientEvents:
    """Checks what the caller sends against the generated client events and writes it as JSON,
    each with an ``event_id``; remembers the last ones sent, so errors lead back to them."""

    __slots__ = ("_classes", "_counter", "_prefix", "_sent", "_templates")

    def __init__(self, union: Any) -> None:
        self._classes = event_classes(union)
        self._prefix = f"evt_{secrets.token_hex(6)}_"
        self._counter = itertools.count(1)
        self._templates: dict[str, bytes] = {}
        # (event_id, event) pairs; a deque's append and copy are atomic, so no lock is needed.
        self._sent: deque[tuple[str, RequestModel | tuple[str, bytes]]] = deque(
            maxlen=SENT_EVENTS_REMEMBERED
        )

    def new_event_id(self) -> str:
        return f"{self._prefix}{next(self._counter)}"

    def encode(self, event: Mapping[str, Any] | RequestModel) -> tuple[str, bytes]:
        """The event checked against its generated class, as ``(event_id, JSON)``; the
        ``event_id`` is the caller's or a new one."""
        model = self._build(event)
        event_id: str = model.event_id  # type: ignore[attr-defined]
        self._sent.append((event_id, model))
        return event_id, model.to_json_bytes()

    def encode_audio(self, kind: str, audio: bytes, event_id: str | None) -> tuple[str, bytes]:
        """An audio append (``audio`` is checked base64) as ``(event_id, JSON)``, written
        directly: it goes out fifty times a second, and base64 needs no escaping."""
        if event_id is None:
            number = next(self._counter)
            event_id = f"{self._prefix}{number}"
            data = (self._templates.get(kind) or self._template(kind)) % (number, audio)
        else:
            quoted = json.dumps(_checked_event_id(event_id)).encode()
            data = b'{"type":"%s","event_id":%s,"audio":"%s"}' % (kind.encode(), quoted, audio)
        self._sent.append((event_id, (kind, audio)))
        return event_id, data

    def _template(self, kind: str) -> bytes:
        """The JSON of an append of ``kind`` with a generated id: number and audio left out."""
        head = f'{{"type":"{kind}","event_id":"{self._prefix}'.encode()
        template = self._templates[kind] = head + b'%d","audio":"%s"}'
        return template

    def _build(self, event: Mapping[str, Any] | RequestModel) -> RequestModel:
        if isinstance(event, Mapping):
            return self._from_mapping(event)
        model = self._classes.get(getattr(event, "type", None) or "")
        if model is None or not isinstance(event, model):
            raise ApiTypeError(
                f"a client event is a mapping or one of the generated client event classes, "
                f"not {type(event).__name__}"
            )
        if event.event_id is None:  # type: ignore[attr-defined]
            event = event.model_copy(update={"event_id": self.new_event_id()})
        return event

    def _from_mapping(self, event: Mapping[str, Any]) -> RequestModel:
        kind = event.get("type")
        model = self._classes.get(kind) if isinstance(kind, str) else None
        if model is None:
            known = ", ".join(self._classes)
            close = (
                difflib.get_close_matches(kind, self._classes, n=1) if isinstance(kind, str) else []
            )
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ApiValueError(f"type must be one of {known}; got {kind!r}{hint}", ["type"])
        if event.get("event_id") is None:
            event = {**event, "event_id": self.new_event_id()}
        return model.from_dict(event)  # type: ignore[return-value]

    def sent(self, event_id: str | None) -> RequestModel | None:
        """The sent event with this ``event_id``, if it is among the last ones sent."""
        # A copy: other threads may send (and so append) while this one looks.
        for sent_id, event in reversed(self._sent.copy()):
            if sent_id == event_id:
                if isinstance(event, tuple):
                    kind, audio = event
                    return self._from_mapping(
                        {"type": kind, "event_id": sent_id, "audio": audio.decode()}
                    )
                return event
        return None


def _checked_event_id(event_id: object) -> str:
    if not isinstance(event_id, str):
        raise ApiTypeError(f"event_id must be a str, not {type(event_id).__name__}", ["event_id"])
    if len(event_id) > MAX_EVENT_ID:
        raise ApiValueError(f"event_id must be at most {MAX_EVENT_ID} characters", ["event_id"])
    return event_id
