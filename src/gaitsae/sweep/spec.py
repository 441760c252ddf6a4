"""SPEC.toml → sweep points: a (partial) run config plus a [grid] of dotted keys with value lists.

    [model]
    name = "topk"
    [training]
    epochs = 30
    [grid]
    "model.k" = [4, 8]
    "training.seed" = [0, 1, 2]

Every combination is one point, an ordinary run directory named from its grid values
("k-4_seed-0"). A model hyperparameter in the grid applies to the points whose model has it
(with "model.name" = ["topk", "sae"], "model.k" only varies the topk points); points that end up
identical are one point.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from gaitsae.errors import ConfigError
from gaitsae.models import DEFAULT_MODEL, MODELS, canonical_name
from gaitsae.training.config import SECTIONS, RunConfig, config_from_dict, config_to_dict

SEED = "training.seed"
MAX_POINTS = 10_000  # a mistyped grid is an error, not a month of training


@dataclass
class Point:
    name: str
    values: dict  # grid key → value, only the keys this point's model uses
    config: RunConfig

    @property
    def mapping(self) -> dict:
        return config_to_dict(self.config)


def _model_keys(name: str) -> set[str]:
    return {f.name for f in dataclasses.fields(MODELS[name].Config)}


def _check_key(key: str, models: list[str], where: str) -> tuple[str, str]:
    section, _, field = key.partition(".")
    if not field or "." in field:
        raise ConfigError(f"{where}: grid key {key!r} must be 'section.key' (e.g. \"model.k\")")
    if section == "model":
        if field != "name" and not any(field in _model_keys(m) for m in models):
            raise ConfigError(f"{where}: unknown grid key {key} (no model of the sweep, {', '.join(models)}, has it)")
    elif section in SECTIONS:
        known = [f.name for f in dataclasses.fields(SECTIONS[section])]
        if field not in known:
            raise ConfigError(f"{where}: unknown grid key {key} (known in [{section}]: {', '.join(known)})")
    else:
        raise ConfigError(f"{where}: unknown grid key {key} (sections: data, features, model, training)")
    return section, field


def _label(value) -> str:
    text = "+".join(map(str, value)) if isinstance(value, list) else str(value)
    return "".join(c if c.isalnum() or c in "-.+" else "-" for c in text)


def point_name(values: dict) -> str:
    """"topk_k-4_seed-0": model names bare, other keys by their last part (dotted if ambiguous)."""
    last = [k.split(".")[1] for k in values]
    parts = []
    for key, value in values.items():
        field = key.split(".")[1]
        if key == "model.name":
            parts.append(_label(value))
        else:
            parts.append(f"{field if last.count(field) == 1 else key}-{_label(value)}")
    return "_".join(parts) or "run"


def parse_spec(mapping: dict, where: str = "spec", data: str | None = None) -> list[Point]:
    """The points of a spec mapping; every key and every point's config validated."""
    mapping = copy.deepcopy(mapping)
    grid = mapping.pop("grid", {})
    if not isinstance(grid, dict):
        raise ConfigError(f"{where}: [grid] must be a table of dotted keys with lists of values")
    base_model = dict(mapping.pop("model", None) or {})
    try:
        base = config_from_dict(mapping)  # the other sections, validated, defaults filled in
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    default_model = canonical_name(base_model.pop("name", DEFAULT_MODEL))  # model names are case-insensitive
    if isinstance(grid.get("model.name"), list):
        grid["model.name"] = [canonical_name(n) for n in grid["model.name"]]
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: grid key {key} must be a non-empty list of values, got {values!r}")
    names = grid.get("model.name", [default_model])
    bad = [n for n in names if n not in MODELS]
    if bad:
        raise ConfigError(f"{where}: grid model.name {bad[0]!r} is not a model (known: {', '.join(MODELS)})")
    for key in grid:
        _check_key(key, names, where)
    size = math.prod(len(v) for v in grid.values())
    if size > MAX_POINTS:
        raise ConfigError(f"{where}: the grid has {size} points (at most {MAX_POINTS})")
    for key in base_model:
        if not any(key in _model_keys(m) for m in names):
            raise ConfigError(f"{where}: unknown key model.{key} (no model of the sweep has it)")

    points: dict[str, Point] = {}
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo))
        model_name = values.get("model.name", default_model)
        known = _model_keys(model_name)
        used = {k: v for k, v in values.items() if not k.startswith("model.") or k == "model.name"
                or k.split(".")[1] in known}
        point = config_to_dict(base)
        point["model"] = {"name": model_name, **{k: v for k, v in base_model.items() if k in known}}
        for key, value in used.items():
            section, field = key.split(".")
            point[section][field] = value
        path = data or point["data"]["path"]
        point["data"]["path"] = ",".join(str(Path(p).resolve()) for p in path.split(",")) if path else ""
        name = point_name(used)
        try:
            config = config_from_dict(point)
        except ConfigError as exc:
            raise ConfigError(f"{where}: point {name}: {exc}") from None
        if not config.data.path:
            raise ConfigError(f"{where}: no data: give --data DIR or data.path in the spec")
        points.setdefault(name, Point(name, used, config))
    return list(points.values())


def load_spec(path, data: str | None = None) -> list[Point]:
    path = Path(path)
    try:
        mapping = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read sweep spec ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_spec(mapping, str(path), data)
