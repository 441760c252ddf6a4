"""What a sweep's runs add up to: one flat table, the classical baselines at the L0 values the
points reached, and feature stability across the points that differ only in their seed.

The frontier compares reconstructions by the time-domain FVU (mean over channels of
1 − r2_time), which every run's metrics.json holds and which the baselines get the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.sweep.point import dataset_of
from gaitsae.sweep.spec import SEED, Point, point_name
from gaitsae.training.config import config_to_dict

STANCES_FOR_STABILITY = 5000  # stances encoded per seed group (activation correlations)


def flatten(mapping: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} → {"a.b": 1}; lists become comma-joined text (parquet-friendly columns)."""
    out = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            out[name] = ",".join(map(str, value))
        else:
            out[name] = value
    return out


def fvu_time(r2_time: dict) -> float:
    return float(1.0 - np.mean(list(r2_time.values())))


def table(points: list[Point], out: Path, failures: dict) -> pd.DataFrame:
    """One row per point: point, status, run_dir, every config key ("model.k", ...) and every
    metric ("fvu", "r2_time.F_V", ...), plus fvu_time."""
    rows = []
    for p in points:
        run_dir = out / p.name
        row = {"point": p.name, "run_dir": str(run_dir), "status": "failed" if p.name in failures else "missing"}
        row.update(flatten(p.mapping))
        metrics_path = run_dir / "metrics.json"
        if metrics_path.is_file() and p.name not in failures:
            metrics = json.loads(metrics_path.read_text())
            row["status"] = "done"
            row.update(flatten(metrics))
            row["fvu_time"] = fvu_time(metrics["r2_time"])
        elif p.name in failures:
            row["error"] = failures[p.name]
        rows.append(row)
    return pd.DataFrame(rows)


def baselines(points: list[Point], df: pd.DataFrame, out: Path) -> pd.DataFrame:
    """PCA and dictionary learning + OMP on the first point's data, split and feature transform,
    at every (rounded) L0 the finished points reached; dictionary atoms = the most common
    n_latents. Rows: method, k, n_atoms, fvu_time, fvu_features. Kept in out/baselines.json and
    reused by later runs of the sweep while the data, split, transform and atoms are the same."""
    from gaitsae.fsio import write_json

    columns = ["method", "k", "n_atoms", "fvu_time", "fvu_features"]
    done = df[df["status"] == "done"]
    if done.empty:
        return pd.DataFrame(columns=columns)
    config = points[0].config
    n_atoms = int(done["model.n_latents"].mode().iloc[0])
    key = {"data": config_to_dict(config)["data"], "features": config_to_dict(config)["features"],
           "split": [config.training.val_fraction, config.training.test_fraction, config.training.seed],
           "n_atoms": n_atoms}
    cache = out / "baselines.json"
    saved = json.loads(cache.read_text()) if cache.is_file() else {}
    rows = saved.get("rows", []) if saved.get("key") == key else []
    ks = sorted({max(round(v), 1) for v in done["l0"]})
    missing = [k for k in ks if k not in {r["k"] for r in rows}]
    if missing:
        rows += _baseline_rows(config, missing, n_atoms)
        write_json(cache, {"key": key, "rows": rows})
    return pd.DataFrame([r for r in rows if r["k"] in ks], columns=columns).sort_values(["method", "k"])


def _baseline_rows(config, ks: list[int], n_atoms: int) -> list[dict]:
    from gaitsae.analysis.baselines import fit_dictionary, omp_reconstruct
    from gaitsae.features import FeatureTransform
    from gaitsae.training import metrics as M
    from gaitsae.training.split import split_subjects

    ds = dataset_of(config)
    t, f = config.training, config.features
    split = split_subjects(ds.stances, t.val_fraction, t.test_fraction, t.seed)
    # PCA and dictionary learning are fitted where variance means variance: channel-scaled, not
    # whitened (after whitening every principal direction is as large as any other).
    scaling = "channel" if f.scaling in ("auto", "whiten") else f.scaling
    transform = FeatureTransform(f.domain, f.wavelet, f.level, f.mode, scaling).fit(ds.curves[split == "train"],
                                                                                    ds.channels)
    x_train, x_test = (transform.transform(ds.curves[split == s]) for s in ("train", "test"))
    curves = ds.curves[split == "test"]
    atoms = fit_dictionary(x_train, n_atoms, seed=t.seed)
    rows = []
    for k in ks:
        candidates = [("dictionary+omp", omp_reconstruct(atoms, x_test, min(k, n_atoms)), n_atoms)]
        if k <= min(x_train.shape):
            candidates.append(("pca", _pca_reconstruct(x_train, x_test, k, t.seed), k))
        for method, x_hat, width in candidates:
            recon = transform.inverse_transform(x_hat.astype(np.float32))
            rows.append({"method": method, "k": k, "n_atoms": width,
                         "fvu_time": fvu_time(M.r2_time(curves, recon, ds.channels)),
                         "fvu_features": M.fvu(x_test, x_hat)})
    return rows


def _pca_reconstruct(x_train, x_test, k, seed):
    from sklearn.decomposition import PCA
    model = PCA(n_components=k, random_state=seed).fit(x_train)
    return model.inverse_transform(model.transform(x_test))


def seed_groups(points: list[Point], df: pd.DataFrame) -> dict[str, list[Point]]:
    """Finished points that differ only in training.seed, by a group name (≥ 2 points each)."""
    done = set(df.loc[df["status"] == "done", "point"])
    groups: dict[str, list[Point]] = {}
    for p in points:
        if SEED in p.values and p.name in done:
            key = point_name({k: v for k, v in p.values.items() if k != SEED})
            groups.setdefault(key, []).append(p)
    return {k: v for k, v in groups.items() if len(v) >= 2}


def stability_table(points: list[Point], df: pd.DataFrame, out: Path) -> pd.DataFrame:
    """Stability across seeds per group, written to out/stability/GROUP/ (reused while no run of
    the group is newer than its stability.json)."""
    from gaitsae.analysis import stability as S

    rows = []
    for group, members in seed_groups(points, df).items():
        where = out / "stability" / group
        dirs = [out / p.name for p in members]
        doc_path = where / S.FILES[0]
        fresh = doc_path.is_file() and all((d / "metrics.json").stat().st_mtime < doc_path.stat().st_mtime
                                           for d in dirs)
        doc = json.loads(doc_path.read_text()) if fresh else None
        if doc is None or sorted(r["path"] for r in doc["runs"]) != sorted(str(d.resolve()) for d in dirs):
            S.write(S.stability(dirs, max_stances=STANCES_FOR_STABILITY), where)
            doc = json.loads(doc_path.read_text())
        s = doc["summary"]
        rows.append({"group": group, "model": members[0].config.model_name, "n_seeds": len(members),
                     "share_0.9_mean": s["share_0.9_mean"], "share_0.9_min": s["share_0.9_min"],
                     "share_0.9_max": s["share_0.9_max"], "share_0.7_mean": s["share_0.7_mean"],
                     "activation_r_median_0.9": s["activation_r_median_0.9"],
                     "feature_stability_mean": s["feature_stability_mean"],
                     "file": str(doc_path.relative_to(out))})
    return pd.DataFrame(rows)
