"""One Realtime session as the service keeps it: configuration, conversation, audio, response.

Each client event gets the service's answer (dispatch and connections:
:mod:`openapiopenai.mock._session_base`). Nothing here touches a socket.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from openapiopenai._overlay import overlay
from openapiopenai.mock import _realtime_turns as turns
from openapiopenai.mock import _realtime_vad as vad
from openapiopenai.mock import _shapes
from openapiopenai.mock._realtime_checks import (
    EventRefused,
    audio_bytes,
    checked_item,
    integer_field,
    object_field,
    optional_str,
    response_params,
    validated,
)
from openapiopenai.mock._session_base import Handlers, Hub, SessionBase
from openapiopenai.models.realtime_session_create_request_ga import (
    RealtimeSessionCreateRequestGA,
)
from openapiopenai.models.realtime_transcription_session_create_request_ga import (
    RealtimeTranscriptionSessionCreateRequestGA,
)

#: The ``previous_item_id`` that puts a new item at the start of the conversation.
ROOT = "root"
#: Least audio a commit accepts, as the service requires.
MIN_COMMIT_MS = 100


class RealtimeSession(SessionBase):
    """A realtime or transcription session: conversation, input audio buffer, responses."""

    def __init__(self, hub: Hub, session: dict[str, Any], *, call_id: str | None = None) -> None:
        super().__init__(hub, session)
        self.call_id = call_id
        self.conversation_id = _shapes.new_id("conv_")
        #: The conversation: items by id, in order.
        self.items: dict[str, dict[str, Any]] = {}
        self._audio_of: dict[str, bytes] = {}
        self._buffer = bytearray()
        self._response: _Response | None = None
        self._last_response_id: str | None = None
        self._detector = vad.Detector()
        self._speech_item: str | None = None

    # -- session ---------------------------------------------------------------------------

    def _session_update(self, event: dict[str, Any]) -> None:
        update = object_field(event, "session")
        kind = update.get("type")
        if kind is None:
            raise EventRefused(
                "Missing required parameter: 'session.type'.",
                code="missing_required_parameter",
                param="session.type",
            )
        if kind != self.session.get("type"):
            raise EventRefused(
                f"Invalid value: '{kind}'. A {self.session.get('type')} session cannot "
                "become another type.",
                code="invalid_value",
                param="session.type",
            )
        model = (
            RealtimeSessionCreateRequestGA
            if kind == "realtime"
            else RealtimeTranscriptionSessionCreateRequestGA
        )
        asked = validated(model, update, "session")
        self.session = overlay(self.session, asked)
        self.emit("session.updated", session=self.session)

    # -- conversation ----------------------------------------------------------------------

    def _item_create(self, event: dict[str, Any]) -> None:
        item = checked_item(object_field(event, "item"))
        previous = optional_str(event, "previous_item_id")
        if previous is not None and previous != ROOT and previous not in self.items:
            raise EventRefused(
                f"Previous item with id '{previous}' not found.",
                code="invalid_value",
                param="previous_item_id",
            )
        if item.get("id") in self.items:
            raise EventRefused(
                f"Item with id '{item['id']}' already exists.",
                code="invalid_value",
                param="item.id",
            )
        stored = {"id": _shapes.new_id("item_"), **item, "object": "realtime.item"}
        stored.setdefault("status", "completed")
        self._add_item(stored, previous)

    def _add_item(self, item: dict[str, Any], previous: str | None = None) -> None:
        """Insert ``item`` after ``previous`` (default: at the end; ``"root"``: first) and
        announce it."""
        ids = list(self.items)
        if previous is None:
            at = len(ids)
        elif previous == ROOT:
            at = 0
        else:
            at = ids.index(previous) + 1
        before = ids[at - 1] if at else None
        ordered = [*ids[:at], item["id"], *ids[at:]]
        self.items[item["id"]] = item
        self.items = {key: self.items[key] for key in ordered}
        self.emit("conversation.item.added", previous_item_id=before, item=item)
        if item.get("status") != "in_progress":
            self.emit("conversation.item.done", previous_item_id=before, item=item)

    def _item_retrieve(self, event: dict[str, Any]) -> None:
        item = dict(self._known_item(event, "retrieving"))
        audio = self._audio_of.get(item["id"])
        if audio is not None:
            item["content"] = [
                {**part, "audio": base64.b64encode(audio).decode("ascii")}
                if part.get("type") in ("input_audio", "output_audio")
                else part
                for part in item.get("content", [])
            ]
        self.emit("conversation.item.retrieved", item=item)

    def _item_delete(self, event: dict[str, Any]) -> None:
        item = self._known_item(event, "deleting")
        del self.items[item["id"]]
        self._audio_of.pop(item["id"], None)
        self.emit("conversation.item.deleted", item_id=item["id"])

    def _item_truncate(self, event: dict[str, Any]) -> None:
        item = self._known_item(event, "truncating")
        index = integer_field(event, "content_index")
        end_ms = integer_field(event, "audio_end_ms")
        content = item.get("content") or []
        if item.get("role") != "assistant" or index >= len(content):
            raise EventRefused(
                f"Invalid value: {index}. Item '{item['id']}' has no assistant audio there.",
                code="invalid_value",
                param="content_index",
            )
        audio_ms = (
            len(self._audio_of.get(item["id"], b""))
            * 1000
            // (turns.SAMPLE_RATE * turns.BYTES_PER_SAMPLE)
        )
        if end_ms > audio_ms:
            raise EventRefused(
                f"Invalid value: {end_ms}. Audio content is only {audio_ms} ms long.",
                code="invalid_value",
                param="audio_end_ms",
            )
        kept = end_ms * turns.SAMPLE_RATE * turns.BYTES_PER_SAMPLE // 1000
        self._audio_of[item["id"]] = self._audio_of[item["id"]][:kept]
        if content[index].get("type") == "output_audio":  # what was not heard is dropped
            content[index] = {**content[index], "transcript": ""}
        self.emit(
            "conversation.item.truncated",
            item_id=item["id"],
            content_index=index,
            audio_end_ms=end_ms,
        )

    def _known_item(self, event: dict[str, Any], doing: str) -> dict[str, Any]:
        item_id = event.get("item_id")
        if not isinstance(item_id, str):
            raise EventRefused(
                "Missing required parameter: 'item_id'.",
                code="missing_required_parameter",
                param="item_id",
            )
        item = self.items.get(item_id)
        if item is None:
            raise EventRefused(
                f"Error {doing} item: the item with id '{item_id}' does not exist.",
                code="item_not_found",
                param="item_id",
            )
        return item

    # -- input audio -----------------------------------------------------------------------

    def _buffer_append(self, event: dict[str, Any]) -> None:
        audio = audio_bytes(event)
        self._buffer += audio
        settings = vad.detects(self.session)
        if settings is None:
            return
        for change, at_ms in self._detector.feed(audio, settings):
            if change == "started":
                self._speech_started(at_ms, settings)
            else:
                self._speech_stopped(at_ms, settings)

    def _speech_started(self, at_ms: int, settings: Mapping[str, Any]) -> None:
        """Someone speaks: announce the item to come, and interrupt the model if it talks."""
        self._speech_item = _shapes.new_id("item_")
        start = max(0, at_ms - int(settings.get("prefix_padding_ms") or 0))
        self.emit(
            "input_audio_buffer.speech_started", audio_start_ms=start, item_id=self._speech_item
        )
        if self._response is not None and settings.get("interrupt_response", True):
            self._response.cancel("turn_detected")

    def _speech_stopped(self, at_ms: int, settings: Mapping[str, Any]) -> None:
        """The turn ended: commit what was said and, if the session wants, answer it."""
        item_id = self._speech_item or _shapes.new_id("item_")
        self._speech_item = None
        self.emit("input_audio_buffer.speech_stopped", audio_end_ms=at_ms, item_id=item_id)
        try:
            self._commit(item_id)
        except EventRefused:  # the buffer was cleared meanwhile: nothing to commit
            return
        wants_answer = settings.get("create_response", True)
        if self.session.get("type") == "realtime" and wants_answer and self._response is None:
            self._start_response({})

    def _buffer_commit(self, event: dict[str, Any]) -> None:
        self._commit(None)

    def _commit(self, item_id: str | None) -> None:
        """The buffered audio becomes a user item (``item_id``, or a new one), transcribed
        when the session transcribes or the test scripted what was said."""
        audio_format = self.session.get("audio", {}).get("input", {}).get("format") or {}
        per_ms = turns.INPUT_BYTES_PER_MS.get(audio_format.get("type", "audio/pcm"), 48)
        buffered_ms = len(self._buffer) / per_ms
        if buffered_ms < MIN_COMMIT_MS:
            raise EventRefused(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        content = {"type": "input_audio", "transcript": None}
        item = turns.message_item("user", [content], "completed")
        if item_id is not None:
            item["id"] = item_id
        self._audio_of[item["id"]] = bytes(self._buffer)
        self._buffer.clear()
        previous = next(reversed(self.items), None)
        self.emit("input_audio_buffer.committed", previous_item_id=previous, item_id=item["id"])
        self._add_item(item)
        transcription = self.session.get("audio", {}).get("input", {}).get("transcription")
        transcript = self.hub.next_transcript(configured=bool(transcription))
        if transcript is not None:
            for kind, fields in turns.transcription_events(
                item["id"], transcript, buffered_ms / 1000
            ):
                self.emit(kind, **fields)
            content["transcript"] = transcript

    def _buffer_clear(self, event: dict[str, Any]) -> None:
        self._buffer.clear()
        self.emit("input_audio_buffer.cleared")

    def _output_clear(self, event: dict[str, Any]) -> None:
        if self._last_response_id is None:
            raise EventRefused(
                "There is no output audio to clear: no response was created yet.",
                code="invalid_value",
                param="type",
            )
        self.emit("output_audio_buffer.cleared", response_id=self._last_response_id)

    # -- responses -------------------------------------------------------------------------

    def _response_create(self, event: dict[str, Any]) -> None:
        if self.session.get("type") != "realtime":
            raise EventRefused(
                "Responses are not available in a transcription session.",
                code="invalid_value",
                param="type",
            )
        if self._response is not None:
            raise EventRefused(
                "Conversation already has an active response in progress: "
                f"{self._response.id}. Wait until the response is finished before creating "
                "a new one.",
                code="conversation_already_has_active_response",
            )
        self._start_response(response_params(event))

    def _start_response(self, params: dict[str, Any]) -> None:
        modalities = params.get("output_modalities") or self.session.get(
            "output_modalities", ["audio"]
        )
        reply = self.hub.next_reply() or self._default_reply()
        response = _Response(self, reply, audio="audio" in modalities, params=params)
        self._response = response
        self._last_response_id = response.id
        if self.hub.pace or reply.hold:  # the reader must stay free to take the cancel
            threading.Thread(target=response.run, daemon=True, name="mock-response").start()
        else:
            response.run()

    def _default_reply(self) -> turns.Reply:
        """The model's answer: what the last tool returned, if the last item is its output."""
        last = self.items[next(reversed(self.items))] if self.items else None
        if last is None or last.get("type") != "function_call_output":
            return turns.Reply()
        calls = [
            item
            for item in self.items.values()
            if item.get("type") == "function_call" and item.get("call_id") == last["call_id"]
        ]
        name = calls[-1]["name"] if calls else "tool"
        return turns.Reply(text=f"The {name} tool returned: {last['output']}")

    def _response_cancel(self, event: dict[str, Any]) -> None:
        asked = optional_str(event, "response_id")
        response = self._response
        if response is None or (asked is not None and asked != response.id):
            raise EventRefused(
                "Cancellation failed: no active response found.",
                code="response_cancel_not_active",
            )
        response.cancel("client_cancelled")

    def finish(self, response: _Response, fields: dict[str, Any]) -> None:
        """Send ``response.done`` and end the response at once: a ``response.create`` sent
        on receiving it starts the next one (unpaced, whatever the mock's pace)."""
        with self._lock:
            self.emit("response.done", **fields)
            self.finished(response)

    def finished(self, response: _Response) -> None:
        """A response has ended (its ``response.done`` is out, or it failed)."""
        with self._lock:
            if self._response is response:
                self._response = None

    def previous_of(self, item_id: str) -> str | None:
        """The id of the item before ``item_id`` in the conversation, if any."""
        with self._lock:
            ids = list(self.items)
        at = ids.index(item_id) if item_id in ids else 0
        return ids[at - 1] if at else None

    def remember_audio(self, item_id: str, chunks: int) -> None:
        """An assistant item's audio, kept whole for ``conversation.item.retrieved``."""
        self._audio_of[item_id] = base64.b64decode(turns.TONE_CHUNK_B64) * chunks

    handlers: ClassVar[Handlers] = {
        "session.update": _session_update,
        "conversation.item.create": _item_create,
        "conversation.item.retrieve": _item_retrieve,
        "conversation.item.delete": _item_delete,
        "conversation.item.truncate": _item_truncate,
        "input_audio_buffer.append": _buffer_append,
        "input_audio_buffer.commit": _buffer_commit,
        "input_audio_buffer.clear": _buffer_clear,
        "output_audio_buffer.clear": _output_clear,
        "response.create": _response_create,
        "response.cancel": _response_cancel,
    }


class _Response:
    """One response: its events, sent in the service's order, at the mock's pace."""

    def __init__(
        self, session: RealtimeSession, reply: turns.Reply, *, audio: bool, params: dict[str, Any]
    ) -> None:
        self.session = session
        self.reply = reply
        self.audio = audio
        self.params = params
        self.id = _shapes.new_id("resp_")
        self.cancelled = threading.Event()
        self.cancel_reason = "client_cancelled"
        self.in_conversation = params.get("conversation", "auto") != "none"

    def cancel(self, reason: str) -> None:
        """End the response early: ``client_cancelled`` or ``turn_detected``."""
        self.cancel_reason = reason
        self.cancelled.set()

    def body(self, status: str, output: list[dict[str, Any]], usage: Any) -> dict[str, Any]:
        """The ``response`` object of ``response.created`` and ``response.done``."""
        session = self.session.session
        details = None
        if status == "cancelled":
            details = {"type": "cancelled", "reason": self.cancel_reason}
        output_audio = session.get("audio", {}).get("output", {})
        body: dict[str, Any] = {
            "object": "realtime.response",
            "id": self.id,
            "status": status,
            "status_details": details,
            "output": output,
            "output_modalities": ["audio" if self.audio else "text"],
            "max_output_tokens": session.get("max_output_tokens", "inf"),
            "audio": {
                "output": {
                    "format": output_audio.get("format", {"type": "audio/pcm", "rate": 24000}),
                    "voice": output_audio.get("voice", "alloy"),
                }
            },
            "usage": usage,
            "metadata": self.params.get("metadata"),
        }
        if self.in_conversation:  # an out-of-band response belongs to no conversation
            body["conversation_id"] = self.session.conversation_id
        return body

    def run(self) -> None:
        """Send the whole response, or until it is cancelled, then ``response.done``."""
        try:
            self._run()
        finally:
            self.session.finished(self)

    def _run(self) -> None:
        send = self._send
        send("response.created", {"response": self.body("in_progress", [], None)})
        send("rate_limits.updated", {"rate_limits": turns.rate_limits(0)})
        call = self.reply.tool_call
        item = (
            turns.function_call_item(call)
            if call is not None
            else turns.message_item("assistant", [], "in_progress")
        )
        where = {"response_id": self.id, "output_index": 0}
        send("response.output_item.added", {**where, "item": dict(item)})
        if self.in_conversation:
            with self.session._lock:
                self.session._add_item(item)
        steps: Iterator[turns.Event] = (
            turns.tool_call_turn(call, {**where, "item_id": item["id"]}, item)
            if call is not None
            else turns.message_turn(self.reply, {**where, "item_id": item["id"]}, self.audio, item)
        )
        for kind, fields in steps:
            if self.cancelled.is_set():
                break
            send(kind, fields)
        if self.reply.hold:
            self.cancelled.wait(turns.HOLD_LIMIT)
        cancelled = self.cancelled.is_set()
        if cancelled:
            item["status"] = "incomplete"
        elif call is None and self.audio:
            self.session.remember_audio(item["id"], len(turns.words(self.reply.text)))
        send("response.output_item.done", {**where, "item": item})
        if self.in_conversation:
            previous = self.session.previous_of(item["id"])
            self.session.emit("conversation.item.done", previous_item_id=previous, item=item)
        said = call.arguments if call is not None else self.reply.text
        usage = turns.usage(json.dumps(list(self.session.items.values()))[:4000], said, self.audio)
        status = "cancelled" if cancelled else "completed"
        self.session.finish(self, {"response": self.body(status, [item], usage)})

    def _send(self, kind: str, fields: dict[str, Any]) -> None:
        self.session.emit(kind, **fields)
        if self.session.hub.pace:
            self.cancelled.wait(self.session.hub.pace)
