"""The model names, without importing torch (the CLI's parsers need them to start fast).
tests/test_cli.py checks this tuple against gaitsae.models.MODELS."""

MODEL_NAMES: tuple[str, ...] = ("sae", "sae-disent", "svae", "topk")
