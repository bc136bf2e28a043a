"""ICE on loopback only, and the checks of an SDP offer, for the mock's WebRTC peer.

aioice has no option to gather only loopback candidates: :func:`loopback_ice` wraps its
address discovery once, for registered threads only. Offers lose every remote candidate that
is not loopback UDP; one that can never connect is refused with :class:`InvalidOfferError`.
See :mod:`openapiopenai.mock.webrtc`.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from openapiopenai.mock._webrtc_deps import aioice

LOOPBACK = "127.0.0.1"

#: Why an offer without a loopback candidate cannot become a call, and how to make one.
NO_LOOPBACK_CANDIDATE = (
    "offer_sdp ends its ICE candidates (a=end-of-candidates) with none on loopback, and this "
    "mock's WebRTC peer talks only on 127.0.0.1, so the call could never connect. Offer a UDP "
    "candidate on 127.0.0.1: with aiortc, create the offer on a thread inside "
    "openapiopenai.mock.webrtc.loopback_ice() and with RTCConfiguration(iceServers=[]); "
    "start Chromium with --allow-loopback-in-peer-connection"
)


class InvalidOfferError(ValueError):
    """The text given as an SDP offer is not one this answerer can accept."""


# --- ICE on loopback only ------------------------------------------------------------------

_loopback_threads: dict[int, int] = {}  # thread id -> how many loopback_ice blocks it is in
_loopback_lock = threading.Lock()
_aioice_host_addresses: Callable[[bool, bool], list[str]] | None = None


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """aioice's address discovery: loopback only on registered threads, unchanged elsewhere."""
    if threading.get_ident() in _loopback_threads:
        return [LOOPBACK] if use_ipv4 else []
    assert _aioice_host_addresses is not None
    return _aioice_host_addresses(use_ipv4, use_ipv6)


def install_loopback_discovery() -> None:
    """Wrap aioice's host address discovery once per process (idempotent)."""
    global _aioice_host_addresses
    with _loopback_lock:
        if aioice.ice.get_host_addresses is not _host_addresses:
            _aioice_host_addresses = aioice.ice.get_host_addresses
            aioice.ice.get_host_addresses = _host_addresses


@contextmanager
def loopback_ice() -> Iterator[None]:
    """Within this block, ICE gathered on the current thread offers only 127.0.0.1.

    For your own aiortc offerer talking to the mock: run it on a thread inside this block, and
    pass ``RTCConfiguration(iceServers=[])``.
    """
    install_loopback_discovery()
    ident = threading.get_ident()
    with _loopback_lock:
        _loopback_threads[ident] = _loopback_threads.get(ident, 0) + 1
    try:
        yield
    finally:
        with _loopback_lock:
            _loopback_threads[ident] -= 1
            if not _loopback_threads[ident]:
                del _loopback_threads[ident]


def _is_loopback_udp_candidate(line: str) -> bool:
    """Whether an ``a=candidate:`` line names a UDP transport on a loopback IP address."""
    parts = line.split()
    if len(parts) < 6 or parts[2].lower() != "udp":
        return False
    try:
        return ipaddress.ip_address(parts[4]).is_loopback
    except ValueError:  # an mDNS name or garbage
        return False


def loopback_only_offer(offer_sdp: str) -> str:
    """The offer with every remote candidate that is not loopback UDP removed."""
    lines = offer_sdp.replace("\r\n", "\n").split("\n")
    kept = [
        line
        for line in lines
        if not line.startswith("a=candidate:") or _is_loopback_udp_candidate(line)
    ]
    return "\r\n".join(kept)


def require_loopback_candidates(answer_sdp: str) -> None:
    """Fail loudly if an aioice release stopped honouring the loopback-only address list."""
    addresses = {
        line.split()[4] for line in answer_sdp.splitlines() if line.startswith("a=candidate:")
    }
    if addresses != {LOOPBACK}:
        raise RuntimeError(
            f"ICE gathered {sorted(addresses)}, not only {LOOPBACK}; this aioice is unsupported"
        )


def check_offer(offer_sdp: object) -> str:
    """The offer as text, or InvalidOfferError saying what is missing."""
    if not isinstance(offer_sdp, str):
        raise InvalidOfferError(f"offer_sdp must be SDP text (str), not {type(offer_sdp).__name__}")
    text = offer_sdp.strip()
    if not text.startswith("v=0"):
        raise InvalidOfferError("offer_sdp is not SDP: it must start with 'v=0'")
    lines = text.replace("\r\n", "\n").split("\n")
    media = [line.split()[0] for line in lines if line.startswith("m=") and line.split()]
    if not {"m=audio", "m=application"} & set(media):
        raise InvalidOfferError("offer_sdp must offer audio or a data channel (no m=audio line)")
    for attribute in ("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:"):
        if not any(line.startswith(attribute) for line in lines):
            raise InvalidOfferError(f"offer_sdp has no '{attribute}' line")
    # Candidates said to be complete, none on loopback: ICE could never connect. (An offer
    # still gathering may connect through peer-reflexive candidates, so it is answered.)
    complete = "a=end-of-candidates" in lines
    candidates = [line for line in lines if line.startswith("a=candidate:")]
    if complete and not any(_is_loopback_udp_candidate(line) for line in candidates):
        raise InvalidOfferError(NO_LOOPBACK_CANDIDATE)
    return text + "\r\n"
