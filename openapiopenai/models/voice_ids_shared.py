"""Voice names: an open set. Known ones are offered to type checkers; any string is accepted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias, get_args

#: Voices the service offers today; it keeps adding more.
KnownVoice: TypeAlias = Literal[
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
]
KNOWN_VOICES: tuple[str, ...] = get_args(KnownVoice)

if TYPE_CHECKING:
    VoiceIdsShared: TypeAlias = KnownVoice | str
else:
    # At run time any string is valid, so validation errors stay short and plain.
    VoiceIdsShared = str

__all__ = ["KNOWN_VOICES", "KnownVoice", "VoiceIdsShared"]
