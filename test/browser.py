"""What the browser tests share: Debian's Chromium, its flags, and a loopback-only network.

Chromium tests run in a child process inside a network namespace of their own (``unshare
--net``, as root) whose only interface is ``lo``: whatever the browser tries, no packet can
leave the machine. Without the right to create one (not root), the child runs in the normal
network with Chromium's DNS mapped to nowhere, and the tests say so; as root the namespace is
required.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test" / "artifacts"
#: Set in the child, which then knows it is inside the namespace.
ISOLATED_ENV = "OPENAPIOPENAI_LOOPBACK_NETNS"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Chromium's own services would otherwise resolve names through the machine's DNS.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
WEBRTC_FLAGS = [
    *CHROMIUM_FLAGS,
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    # Otherwise Chromium opens an mDNS socket, and joining its group sends IGMP reports on eth0.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
#: Runs the command after bringing up ``lo``, the namespace's only interface.
_IN_NAMESPACE = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]


def missing() -> str | None:
    """Why the browser tests cannot run here, or None if Chromium, Playwright and aiortc are."""
    if not Path(CHROMIUM).is_file():
        return "Chromium not found at /usr/bin/chromium; run .ci/browser-setup to install it"
    for module, extra in (("playwright", "browser"), ("aiortc", "webrtc")):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed; run .ci/browser-setup (pip install '.[{extra}]')"
    return None


def isolated() -> bool:
    """Whether this process is the child inside the loopback-only namespace."""
    return os.environ.get(ISOLATED_ENV) == "1"


@functools.cache
def namespace_refused() -> str | None:
    """Why a loopback-only namespace cannot be made here, or None if it can."""
    try:
        probe = subprocess.run(
            [*_IN_NAMESPACE, "true"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as failed:
        return str(failed)
    return None if probe.returncode == 0 else probe.stderr.strip() or f"exit {probe.returncode}"


def run_isolated(
    argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run ``argv`` (from the project root) in a loopback-only namespace when one can be
    made; returns the finished process and whether it was isolated. As root, a namespace
    that cannot be made is an error, not a fallback."""
    refused = namespace_refused()
    if refused is not None and os.geteuid() == 0:
        raise AssertionError(f"root, yet no loopback-only network namespace: {refused}")
    if refused is not None:
        warnings.warn(
            f"browser tests run in the normal network (no namespace: {refused}); "
            "only Chromium's DNS blocking keeps them on loopback",
            stacklevel=2,
        )
    environment = {**os.environ, **(env or {}), ISOLATED_ENV: "1" if refused is None else "0"}
    command = list(argv) if refused is not None else [*_IN_NAMESPACE, *argv]
    finished = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=environment,
        check=False,
    )
    return finished, refused is None
