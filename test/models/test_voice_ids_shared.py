"""VoiceIdsShared: an open set of voice names."""

from __future__ import annotations

import openapiopenai
from openapiopenai.models import voice_ids_shared
from openapiopenai.models.voice_ids_shared import KNOWN_VOICES, VoiceIdsShared


def test_any_string_is_a_voice() -> None:
    assert VoiceIdsShared("marin") == "marin"
    assert isinstance("brand-new-voice", VoiceIdsShared)


def test_known_voices_include_the_spec_and_newer_ones() -> None:
    assert {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage"} <= set(
        KNOWN_VOICES
    )
    assert {"shimmer", "verse", "marin", "cedar"} <= set(KNOWN_VOICES)
    assert len(set(KNOWN_VOICES)) == len(KNOWN_VOICES)


def test_exported() -> None:
    assert openapiopenai.VoiceIdsShared is voice_ids_shared.VoiceIdsShared
    assert openapiopenai.KNOWN_VOICES == KNOWN_VOICES
