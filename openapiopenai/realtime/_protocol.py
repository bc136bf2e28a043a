"""The Realtime protocol without a socket: URLs, handshake headers, events in and out.

Everything here is plain computation on text and models, so it is tested and measured on its
own; :mod:`openapiopenai.realtime.connection` only moves what this module produces.
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
import reprlib
import secrets
import threading
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Protocol, cast, get_args
from urllib.parse import quote

from pydantic import PrivateAttr, ValidationError, ValidatorFunctionWrapHandler, WrapValidator

from openapiopenai._secrets import redact
from openapiopenai.exceptions import ApiTypeError, ApiValueError, _field_problem
from openapiopenai.models import _fast
from openapiopenai.models._fast import request_json
from openapiopenai.models.openapi_model import RESPONSE_CONTEXT, ResponseModel, _is_text
from openapiopenai.realtime._helpers import Audio, encode_audio

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from openapiopenai.models.openapi_model import OpenApiModel, RequestModel

#: Close codes after which iteration ends quietly: a normal end of the conversation.
NORMAL_CLOSURE = 1000
#: A header the GA service refuses (it closes the session with ``beta_api_shape_disabled``).
BETA_HEADER = "openai-beta"
#: How many sent events are remembered, so that an ``error`` event can name its cause, and
#: how many bytes of JSON they may add up to (an audio append counts as none: its audio is not
#: kept). An event larger than that on its own is not remembered.
SENT_EVENTS_REMEMBERED = 256
SENT_BYTES_REMEMBERED = 1024 * 1024
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
        failure: tuple[type[OpenApiModel], ValidationError] | None = None
        if model is not None:
            # First the validator that calls no Python; what it refuses (a newer value, an
            # unknown item type) the class's own validator decides.
            event = _fast.parse_json(model, data)
            if event is None:
                try:
                    event = model.__pydantic_validator__.validate_json(
                        data, context=RESPONSE_CONTEXT
                    )
                except ValidationError as error:
                    event, failure = None, (model, error)
            if event is not None and event.type.encode() == found.group(1):  # type: ignore[attr-defined,union-attr]
                return cast("ServerEvent", event)
        return self._general(data, failure)

    def _general(
        self, data: bytes, failure: tuple[type[OpenApiModel], ValidationError] | None
    ) -> ServerEvent:
        """The event read as a whole; ``failure`` is what validating it as the class its
        first ``type`` named already found, so that no event is validated twice."""
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
            return UnknownServerEvent.model_validate({"type": "", "raw": _text(data)})
        model = self._classes.get(parsed["type"].encode())
        if model is None:
            return _unknown(parsed, None)
        if failure is not None and failure[0] is model:
            return _unknown(parsed, _problem(model, failure[1]))
        try:
            return cast("ServerEvent", model.model_validate(parsed, context=RESPONSE_CONTEXT))
        except ValidationError as error:
            return _unknown(parsed, _problem(model, error))


#: How many of a malformed event's validation errors its ``problem`` names, and how much of
#: each offending value it shows: a message of any size costs a few lines.
PROBLEMS_SHOWN = 5
_SNIPPET_CHARS = 40


def _problem(model: type[OpenApiModel], error: ValidationError) -> str:
    """Why an event is not a ``model``: its first few errors, each with a short snippet of
    the offending value, and how many more there are."""
    count = error.error_count()
    errors = error.errors(include_url=False)[:PROBLEMS_SHOWN]
    lines = [_error_line(item, model.__name__) for item in errors]
    if count > len(lines):
        lines.append(f"and {count - len(lines)} more")
    plural = "s" if count != 1 else ""
    return redact(f"{count} error{plural} in {model.__name__}:\n  " + "\n  ".join(lines))


def _error_line(item: ErrorDetails, model: str) -> str:
    field, message = _field_problem(item, model)
    return f"{field}: {message} (got {_snippet(item.get('input'))})"


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = _SNIPPET_CHARS
_SHORT_REPR.maxlevel, _SHORT_REPR.maxdict, _SHORT_REPR.maxlist = 2, 3, 3


def _snippet(value: object) -> str:
    """A short repr of ``value``, however large it is (``reprlib`` stops early)."""
    text = _SHORT_REPR.repr(value)
    return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 3] + "..."


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


class SentEvents:
    """The last events sent, by ``event_id``, within :data:`SENT_EVENTS_REMEMBERED` events
    and :data:`SENT_BYTES_REMEMBERED` bytes: a model or the JSON of a dict event; and, apart,
    the last :data:`SENT_EVENTS_REMEMBERED` audio appends by their type alone."""

    __slots__ = ("_appends", "_bytes", "_events", "_lock")

    def __init__(self) -> None:
        # (event_id, the event, its size); other threads may send (and so add) while one looks.
        self._events: deque[tuple[str, RequestModel | bytes, int]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        # (event_id, type): appends go out fifty times a second; a bounded deque's append is
        # atomic, so they need no lock (nor a place in the byte count: no audio is kept).
        self._appends: deque[tuple[str, str]] = deque(maxlen=SENT_EVENTS_REMEMBERED)

    def add(self, event_id: str, event: RequestModel | bytes, size: int) -> None:
        with self._lock:
            self._events.append((event_id, event, size))
            self._bytes += size
            while len(self._events) > SENT_EVENTS_REMEMBERED or self._bytes > SENT_BYTES_REMEMBERED:
                self._bytes -= self._events.popleft()[2]

    def add_append(self, event_id: str, kind: str) -> None:
        self._appends.append((event_id, kind))

    def find(self, event_id: str | None) -> RequestModel | str | bytes | None:
        """The event sent with ``event_id``; an audio append as its type."""
        with self._lock:
            for sent_id, event, _size in reversed(self._events):
                if sent_id == event_id:
                    return event
        for sent_id, kind in reversed(self._appends.copy()):
            if sent_id == event_id:
                return kind
        return None

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
            self._bytes = 0
        self._appends.clear()


class ClientEvents:
    """Checks what the caller sends against the generated client events and writes it as JSON,
    each with an ``event_id``; remembers the last ones sent, so errors lead back to them."""

    __slots__ = ("_classes", "_counter", "_prefix", "_sent", "_templates")

    def __init__(self, union: Any) -> None:
        self._classes = event_classes(union)
        self._prefix = f"evt_{secrets.token_hex(6)}_"
        self._counter = itertools.count(1)
        self._templates: dict[str, bytes] = {}
        self._sent = SentEvents()

    def new_event_id(self) -> str:
        return f"{self._prefix}{next(self._counter)}"

    def encode(self, event: Mapping[str, Any] | RequestModel) -> tuple[str, bytes]:
        """The event checked against its generated class, as ``(event_id, JSON)``; the
        ``event_id`` is the caller's or a new one."""
        if isinstance(event, dict):
            event, sent = self._fast_json(event)
            if sent is not None:
                return sent
        model = self._build(event)
        given: str | None = model.event_id  # type: ignore[attr-defined]
        data = model.to_json_bytes()
        if given is not None:
            event_id = given
        else:
            # The id goes into the JSON rather than into a copy of the model, which would be
            # validated again; the record gives the copy when asked (see sent()).
            event_id = self.new_event_id()
            data = b'{"event_id":"%s",%s' % (event_id.encode(), data[1:])
        self._sent.add(event_id, model, len(data))
        return event_id, data

    def _fast_json(self, event: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, bytes] | None]:
        """The event with its ``event_id``, and ``(event_id, JSON)`` when it is checked and
        written without building a model (as HTTP requests are); ``None`` when only the model
        can tell, which then goes on with the same id."""
        name = event.get("type")
        kind = self._classes.get(name) if isinstance(name, str) else None
        if kind is None:
            return event, None
        if event.get("event_id") is None:
            event = {**event, "event_id": self.new_event_id()}
        data = request_json(kind.__name__, event)
        if data is None:
            return event, None
        self._sent.add(event["event_id"], data, len(data))
        return event, (event["event_id"], data)

    def encode_audio(self, kind: str, audio: Audio, event_id: str | None) -> tuple[str, bytes]:
        """An audio append as ``(event_id, JSON)``: raw audio is base64-encoded here, base64
        text is checked. Written directly, with no model: it goes out fifty times a second,
        and base64 needs no escaping."""
        encoded = encode_audio(audio)
        if event_id is None:
            number = next(self._counter)
            event_id = f"{self._prefix}{number}"
            data = (self._templates.get(kind) or self._template(kind)) % (number, encoded)
        else:
            quoted = json.dumps(_checked_event_id(event_id)).encode()
            data = b'{"type":"%s","event_id":%s,"audio":"%s"}' % (kind.encode(), quoted, encoded)
        # Remembered by type and id: keeping the audio would keep megabytes alive.
        self._sent.add_append(event_id, kind)
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
        """The sent event with this ``event_id``, if it is among the last ones sent; an audio
        append comes back without its audio (``audio`` empty)."""
        event = self._sent.find(event_id)
        if isinstance(event, bytes):  # a dict event, as it was sent
            return self._from_mapping(json.loads(event))
        if isinstance(event, str):
            return self._from_mapping({"type": event, "event_id": event_id, "audio": ""})
        if event is not None and event.event_id is None:  # type: ignore[attr-defined]
            return event.model_copy(update={"event_id": event_id})  # the id it was sent with
        return event

    def forget(self) -> None:
        """Let go of the events remembered (the connection is closed)."""
        self._sent.clear()


def _checked_event_id(event_id: object) -> str:
    if not isinstance(event_id, str):
        raise ApiTypeError(f"event_id must be a str, not {type(event_id).__name__}", ["event_id"])
    if len(event_id) > MAX_EVENT_ID:
        raise ApiValueError(f"event_id must be at most {MAX_EVENT_ID} characters", ["event_id"])
    if not _is_text(event_id):
        # As send() refuses it: JSON would carry it escaped, the lookup of sent events not.
        raise ApiValueError("event_id must be text without a lone surrogate", ["event_id"])
    return event_id
