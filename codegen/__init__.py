"""The model generator: ``python -m codegen`` turns the vendored spec into models and docs."""
