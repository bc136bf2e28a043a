"""Benchmarks of the SDK against raw urllib3: ``python -m bench`` (see bench/README.md)."""

#: The key every bench client sends to its own loopback servers (never a real one).
API_KEY = "sk-bench-0123456789abcdefghijklmnopqrstuvwxyz"
