"""The misbehaviours a test scripts on the mock's WebSocket side, as plain data.

Scripted through ``mock.realtime`` (:mod:`openapiopenai.mock.realtime_ws`), played by the
socket side (:mod:`openapiopenai.mock._ws_transport`).
"""

from __future__ import annotations

from dataclasses import dataclass

FAULT_ACTIONS = ("drop", "close", "delay", "garbage", "hang")
#: A frame no WebSocket peer may accept: reserved bits set on an unknown opcode.
GARBAGE_FRAME = b"\xf3\x04junk"


@dataclass(frozen=True)
class Fault:
    """A misbehaviour the mock plays once, on the first connection that reaches its moment.

    ``after`` is a server event type (right after the mock sends it); ``on`` is a client event
    type (when it arrives: a delay holds its answer back, any other fault replaces it).
    ``action`` is one of :data:`FAULT_ACTIONS`.
    """

    action: str
    after: str | None = None
    on: str | None = None
    code: int = 1011
    reason: str = ""
    seconds: float = 0.0
    data: bytes = GARBAGE_FRAME
