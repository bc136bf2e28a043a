"""Benchmarks of the SDK against raw urllib3: ``python -m bench`` (see bench/README.md)."""
