"""The third-party libraries of the mock's WebRTC peer, or an ImportError saying how to get them.

Every WebRTC module of the mock imports them from here, so that a missing ``webrtc`` extra
gives one clear message, whichever module is imported first.
"""

from __future__ import annotations

from openapiopenai.exceptions import install_hint

try:
    import aioice.ice
    import av
    from aiortc import (
        MediaStreamTrack,
        RTCConfiguration,
        RTCDataChannel,
        RTCPeerConnection,
        RTCSessionDescription,
    )
    from aiortc.mediastreams import MediaStreamError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "openapiopenai.mock.webrtc needs aiortc, which is not installed: "
        + install_hint("aiortc", "webrtc")
    ) from exc

__all__ = [
    "MediaStreamError",
    "MediaStreamTrack",
    "RTCConfiguration",
    "RTCDataChannel",
    "RTCPeerConnection",
    "RTCSessionDescription",
    "aioice",
    "av",
]
