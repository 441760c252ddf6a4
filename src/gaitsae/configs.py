"""Typed, inert configs: dataclasses whose fields carry their own checks, filled from dicts.

One mechanism for every config in gaitsae (training sections and each model's hyperparameters):
unknown keys, wrong types and out-of-range values raise ConfigError naming the key path.
A field's checks live in its metadata: `param(default, min=..., max=..., choices=...)`.
Every size has an upper bound (the limits below), so a hostile or mistyped config (n_latents =
1e9) is a one-line error naming the key, never an attempt to allocate terabytes; floats must be
finite. docs/robustness.md lists the ranges.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

from gaitsae.errors import ConfigError

# Upper bounds of sizes (a 16,384-latent TopK model over 550 inputs is ~200 MB with Adam's state).
MAX_LATENTS = 16_384
MAX_BATCH = 65_536
MAX_EPOCHS = 100_000
MAX_COUNT = 10**9  # step/stance counters (dead_after)
MAX_SEED = 2**32 - 1


def param(default, *, min=None, max=None, choices=None, min_exclusive=False, help="", absent=None):
    """A dataclass field with its valid range; mutable defaults are copied per instance. absent: for
    a key added after runs were saved without it, the value those runs were trained with (so a
    changed default does not change an old run's behaviour when it is loaded)."""
    meta = {"min": min, "max": max, "choices": choices, "min_exclusive": min_exclusive, "help": help,
            "absent": absent}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp)).replace("typing.", "")


def _coerce(value, tp, path: str):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], path)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path} must be a list, got {value!r}")
        return [_coerce(v, args[0], f"{path}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{path} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{path} must be a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path} must be a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported type {_type_name(tp)}")  # a bug in a Config class


def check(field: dataclasses.Field, value, path: str) -> None:
    m = field.metadata
    if value is None:
        return
    if m.get("choices") is not None:
        items = value if isinstance(value, list) else [value]
        for v in items:
            if v not in m["choices"]:
                raise ConfigError(f"{path} must be one of {list(m['choices'])}, got {v!r}")
    lo, hi = m.get("min"), m.get("max")
    if lo is not None and (value < lo or (m.get("min_exclusive") and value == lo)):
        op = ">" if m.get("min_exclusive") else ">="
        raise ConfigError(f"{path} must be {op} {lo}, got {value!r}")
    if hi is not None and value > hi:
        raise ConfigError(f"{path} must be <= {hi}, got {value!r}")


def from_dict(cls, mapping: dict | None, prefix: str):
    """Build dataclass `cls` from `mapping`; every key checked, missing keys take defaults."""
    mapping = dict(mapping or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = [k for k in mapping if k not in fields]
    if unknown:
        raise ConfigError(f"unknown key {prefix}.{unknown[0]} (known: {', '.join(fields)})")
    values = {}
    for name, f in fields.items():
        if name in mapping:
            value = _coerce(mapping[name], hints[name], f"{prefix}.{name}")
            check(f, value, f"{prefix}.{name}")
            values[name] = value
    return cls(**values)


def validate(obj, prefix: str) -> None:
    """Check an already built config (e.g. made in Python) against its fields' ranges."""
    from_dict(type(obj), to_dict(obj), prefix)


def to_dict(obj) -> dict[str, Any]:
    return dataclasses.asdict(obj)
