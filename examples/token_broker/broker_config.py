"""The token broker's settings: what it mints and how it protects itself (``config.json``),
and the command-line flags that override them."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_CONFIG = Path(__file__).resolve().parent / "config.json"
#: Host names the broker answers to unless configured otherwise: loopback only.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class BrokerConfig:
    """What the broker mints and how it protects itself; loaded from JSON, see README.md."""

    model: str = "gpt-realtime"
    instructions: str = "You are a friendly voice assistant. Keep answers short."
    voices: tuple[str, ...] = ("marin", "cedar")
    default_voice: str = ""
    key_lifetime_seconds: int | None = None
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    allowed_origins: tuple[str, ...] = ()
    require_origin: bool = False
    rate_limit_burst: int = 5
    rate_limit_per_minute: float = 10.0
    max_body_bytes: int = 1024
    max_offer_bytes: int = 16 * 1024
    upstream_timeout_seconds: float = 15.0
    upstream_deadline_seconds: float = 20.0
    upstream_retries: int = 1
    max_retry_wait_seconds: float = 2.0
    realtime_url: str = "https://api.openai.com/v1/realtime"
    call_tools: bool = True
    max_call_tools: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "voices", tuple(self.voices))
        object.__setattr__(self, "allowed_origins", tuple(self.allowed_origins))
        object.__setattr__(self, "allowed_hosts", tuple(h.lower() for h in self.allowed_hosts))
        if not self.allowed_hosts:
            raise ValueError("allowed_hosts must list at least one host name")
        if not self.voices:
            raise ValueError("voices must list at least one voice")
        if not all(voice.strip() for voice in self.voices):
            raise ValueError("voices must not hold an empty name")
        for name in ("model", "instructions", "realtime_url"):
            if not getattr(self, name).strip():
                raise ValueError(f"{name} must not be empty")
        if not self.default_voice:
            object.__setattr__(self, "default_voice", self.voices[0])
        if self.default_voice not in self.voices:
            raise ValueError(f"default_voice {self.default_voice!r} is not in voices")
        lifetime = self.key_lifetime_seconds
        if lifetime is not None and not 10 <= lifetime <= 7200:
            raise ValueError("key_lifetime_seconds must be between 10 and 7200")
        if self.rate_limit_burst < 1 or self.rate_limit_per_minute <= 0:
            raise ValueError("rate_limit_burst must be >= 1 and rate_limit_per_minute > 0")
        if self.max_body_bytes < 2 or self.upstream_retries < 0:
            raise ValueError("max_body_bytes must be >= 2 and upstream_retries >= 0")
        if self.max_call_tools < 1:
            raise ValueError("max_call_tools must be >= 1")
        if self.max_offer_bytes < 256:
            raise ValueError("max_offer_bytes must be >= 256 (an SDP offer is a few KiB)")
        for name in ("upstream_timeout_seconds", "upstream_deadline_seconds"):
            seconds = getattr(self, name)
            if not math.isfinite(seconds) or seconds <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        realtime = urlsplit(self.realtime_url)
        local = realtime.scheme == "http" and realtime.hostname in LOOPBACK_HOSTS
        if realtime.scheme != "https" and not local:
            raise ValueError("realtime_url must be an https:// URL (or http:// on loopback)")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> BrokerConfig:
        """Build from parsed JSON; unknown keys are an error so a typo cannot go unnoticed."""
        known = {item.name: item for item in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        for name, value in data.items():
            _check_type(name, value, known[name].type)
        return cls(**data)

    @classmethod
    def load(cls, path: Path) -> BrokerConfig:
        """Read a JSON config file."""
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the top level must be a JSON object")
        return cls.from_mapping(data)


def _check_type(name: str, value: Any, annotation: Any) -> None:
    """Refuse a JSON value whose type does not match the setting (e.g. a string for a number)."""
    text = str(annotation)
    if value is None and "None" in text:
        return
    if "tuple" in text:
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    elif text.startswith("bool"):
        ok = isinstance(value, bool)
    elif text.startswith("int"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif text.startswith("float"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"setting {name!r} must be of type {text}, got {value!r}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line flags; each one overrides the same setting from the config file."""
    parser = argparse.ArgumentParser(description="Mint ephemeral Realtime keys for browsers.")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="JSON config file")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port (0 picks a free one)")
    parser.add_argument("--mock", action="store_true", help="use a local fake OpenAI, no key")
    parser.add_argument("--model", help="model of every session")
    parser.add_argument("--instructions", help="instructions of every session")
    parser.add_argument("--voices", help="comma-separated voices the browser may choose from")
    parser.add_argument("--allow-origin", action="append", help="another allowed origin")
    parser.add_argument(
        "--allow-host", action="append", help="a host name to serve (replaces the loopback ones)"
    )
    parser.add_argument("--retries", type=int, help="retries of a failed call to OpenAI")
    parser.add_argument(
        "--realtime-url", help="where pages post their offers: {realtime_url}/calls"
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> BrokerConfig:
    """The config file with the flags applied on top."""
    config = BrokerConfig.load(args.config)
    for flag in ("model", "instructions", "realtime_url"):
        _refuse_empty(flag, getattr(args, flag))
    for voice in [] if args.voices is None else args.voices.split(","):
        _refuse_empty("voices", voice)
    changes: dict[str, Any] = {}
    if args.model is not None:
        changes["model"] = args.model
    if args.instructions is not None:
        changes["instructions"] = args.instructions
    if args.voices is not None:
        changes["voices"] = tuple(voice.strip() for voice in args.voices.split(","))
        changes["default_voice"] = ""
    if args.allow_origin:
        changes["allowed_origins"] = (*config.allowed_origins, *args.allow_origin)
    if args.allow_host:
        changes["allowed_hosts"] = tuple(args.allow_host)
    if args.retries is not None:
        changes["upstream_retries"] = args.retries
    if args.realtime_url is not None:
        changes["realtime_url"] = args.realtime_url.rstrip("/")
    return dataclasses.replace(config, **changes) if changes else config


def _refuse_empty(flag: str, value: str | None) -> None:
    """An empty flag (or item of a list) is a mistake, often an unset shell variable: say so."""
    if value is not None and not value.strip():
        raise ValueError(f"invalid --{flag.replace('_', '-')}: must not be empty")
