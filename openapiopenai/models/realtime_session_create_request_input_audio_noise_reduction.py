"""Request: noise reduction of input audio (``input_audio_noise_reduction``)."""

from __future__ import annotations

from typing import Literal

from openapiopenai.models.openapi_model import RequestModel, optional


class RealtimeSessionCreateRequestInputAudioNoiseReduction(RequestModel):
    """Near- or far-field filtering; set the parent field to ``None`` to turn it off."""

    type: Literal["near_field", "far_field"] | None = optional()
