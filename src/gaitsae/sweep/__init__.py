"""Sweeps: a grid over run-config keys, each point an ordinary run directory under one folder.

    run_sweep("spec.toml", "sweeps/k", workers=2)        # local worker processes
    run_sweep("spec.toml", "sweeps/k", ray="auto")       # tasks on a Ray cluster

Resumable: finished points are skipped, interrupted ones continue from their checkpoint.
Results: DIR/sweep.parquet (one row per point, flat config and metric columns) and
DIR/sweep.html (frontier against PCA and dictionary learning + OMP, stability across seeds).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gaitsae.errors import GaitsaeError
from gaitsae.sweep.spec import Point, load_spec


class SweepError(GaitsaeError):
    """Some points of a sweep failed (the others are done and in the results)."""


@dataclass
class SweepResult:
    points: list[Point]
    table: pd.DataFrame
    baselines: pd.DataFrame
    stability: pd.DataFrame
    ran: dict  # point name → train_point's result (or the error text), for the points run now
    skipped: list[str]
    train_seconds: float  # wall time of the training phase (the points run now)


def _without_path(mapping: dict) -> dict:
    return {**mapping, "data": {k: v for k, v in mapping["data"].items() if k != "path"}}


def _same_point(run_dir: Path, point: Point) -> bool:
    """Whether the run saved in run_dir is this point: its saved config against the point's with
    the automatic values resolved for the run's training stances (training.config.resolve_auto)."""
    from gaitsae.training.config import config_to_dict, load_config, resolve_auto
    from gaitsae.training.rundir import read_metrics

    try:
        n_train = read_metrics(run_dir).get("n_stances", {}).get("train")
    except GaitsaeError:
        n_train = None  # no metrics yet: nothing was resolved by a finished training
    wanted = resolve_auto(point.config, n_train) if n_train else point.config
    return _without_path(config_to_dict(load_config(run_dir / "config.toml"))) == _without_path(config_to_dict(wanted))


def plan(points: list[Point], out: Path) -> tuple[list, list[str]]:
    """(points to run as (name, run_dir, config mapping), names already finished). A run directory
    whose saved config differs from its point (the spec changed) is refused, not overwritten."""
    from gaitsae.sweep.point import is_finished

    todo, skipped = [], []
    for p in points:
        run_dir = out / p.name
        saved = run_dir / "config.toml"
        if saved.is_file() and not _same_point(run_dir, p):
            raise GaitsaeError(f"{saved}: differs from the spec's point {p.name}; "
                               f"sweep into a new --out or delete that run directory")
        if is_finished(run_dir):
            skipped.append(p.name)
        else:
            todo.append((p.name, run_dir, p.mapping))
    return todo, skipped


FILES = ("sweep.toml", "sweep.parquet", "sweep.html", "baselines.json", "stability")


def run_sweep(spec, out, data: str | None = None, workers: int = 1, ray: str | None = None,
              progress: bool = True, overwrite: bool = False) -> SweepResult:
    """Train the spec's points into out/NAME (holding out's lock: one sweep per folder at a
    time), then write the results; out is new or a sweep's (its marker names every point)."""
    from gaitsae import outdir

    if workers < 1:
        raise GaitsaeError(f"--workers must be >= 1, got {workers}")
    points = load_spec(spec, data)
    with outdir.filling(out, "sweep", overwrite=overwrite, names=[*FILES, *(p.name for p in points)]):
        return _run(spec, points, Path(out), workers, ray, progress)


def _run(spec, points: list[Point], out: Path, workers: int, ray: str | None, progress: bool) -> SweepResult:
    from gaitsae.fsio import atomic_path, write_text
    from gaitsae.sweep import html, results

    todo, skipped = plan(points, out)
    write_text(out / "sweep.toml", Path(spec).read_text(encoding="utf-8"))  # the spec this folder came from
    ran: dict = {}
    start = time.perf_counter()
    if todo and ray:
        from gaitsae.sweep.ray_runner import run_ray
        ran = run_ray(todo, ray, progress)
    elif todo:
        from gaitsae.sweep.local import run_local
        ran = run_local(todo, min(workers, len(todo)), progress)
    train_seconds = time.perf_counter() - start
    failures = {name: r for name, r in ran.items() if isinstance(r, str)}

    df = results.table(points, out, failures)
    base = results.baselines(points, df, out)
    stab = results.stability_table(points, df, out)
    df = _with_stability(df, points, out)
    with atomic_path(out / "sweep.parquet") as tmp:
        df.to_parquet(tmp, index=False)
    grid: dict = {}
    for p in points:
        for key, value in p.values.items():
            if value not in grid.setdefault(key, []):
                grid[key].append(value)
    write_text(out / "sweep.html", html.render(df, base, stab, grid, synthetic=_synthetic(df)))
    result = SweepResult(points, df, base, stab, ran, skipped, train_seconds)
    if failures:
        name, message = next(iter(failures.items()))
        raise SweepError(f"{len(failures)} of {len(points)} points failed (first: {name}: {message}); "
                         f"the others are in {out / 'sweep.parquet'}; rerun to retry the failed ones")
    return result


def _with_stability(df: pd.DataFrame, points: list[Point], out: Path) -> pd.DataFrame:
    """Each finished point's mean share of features matched at >= 0.9 against its other seeds."""
    from gaitsae.analysis.stability import stability_entry

    values = []
    for name, status in zip(df["point"], df["status"]):
        entry = stability_entry(out / name) if status == "done" else None
        values.append(entry["share_0.9_mean"] if entry else None)
    return df.assign(**{"stability.share_0.9_mean": pd.array(values, dtype="Float64")})


def _synthetic(df: pd.DataFrame) -> bool:
    return bool(df["synthetic"].fillna(False).any()) if "synthetic" in df else False


__all__ = ["SweepError", "SweepResult", "run_sweep"]
