"""What a sweep's runs add up to: one flat table, the classical baselines at the L0 values the
points reached (on each point's own split), and feature stability across the points that differ
only in their seed.

The frontier compares reconstructions by the time-domain FVU (training.metrics.fvu_time, the
"fvu" of every run's metrics.json), which the baselines get from the same function.
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


def saved_config(run_dir: Path) -> dict | None:
    """The config a finished point's run saved (its automatic values resolved), as a mapping."""
    from gaitsae.training.config import load_config

    path = run_dir / "config.toml"
    return config_to_dict(load_config(path)) if path.is_file() else None


def table(points: list[Point], out: Path, failures: dict) -> pd.DataFrame:
    """One row per point: point, status, run_dir, every config key ("model.k", ...; a finished
    point's as its run saved them, automatic values resolved: model.n_latents = 0 becomes the size
    trained) and every metric ("fvu", "r2_time.F_V", ...), plus fvu_time (= fvu, named for the plots)."""
    rows = []
    for p in points:
        run_dir = out / p.name
        row = {"point": p.name, "run_dir": str(run_dir), "status": "failed" if p.name in failures else "missing"}
        row.update(flatten(p.mapping))
        metrics_path = run_dir / "metrics.json"
        if metrics_path.is_file() and p.name not in failures:
            metrics = json.loads(metrics_path.read_text())
            row["status"] = "done"
            row.update(flatten({"model": saved_config(run_dir)["model"]}))
            row.update(flatten(metrics))
            row["fvu_time"] = metrics["fvu"]
        elif p.name in failures:
            row["error"] = failures[p.name]
        rows.append(row)
    return pd.DataFrame(rows)


def split_key(config) -> dict:
    """What a baseline fit depends on besides k: the data, the feature transform and the subject
    split (fractions and the seed that draws it)."""
    mapping = config_to_dict(config)
    t = config.training
    return {"data": mapping["data"], "features": mapping["features"],
            "split": [t.val_fraction, t.test_fraction, t.seed]}


def run_features(row) -> int:
    """A finished point's features of both kinds: its atoms (model.n_latents) and its dense scaffold
    columns (metrics.json's n_dense, absent for models whose features are all sparse)."""
    dense = row.get("n_dense")
    return int(row["model.n_latents"]) + (0 if dense is None or pd.isna(dense) else int(dense))


def baselines(points: list[Point], df: pd.DataFrame, out: Path) -> pd.DataFrame:
    """PCA and dictionary learning + OMP on each finished point's OWN data, split and feature
    transform (the seed draws the subject split, so points of different seeds are scored on
    different test subjects), fitted once per distinct split, at every (rounded) L0 the points of
    that split reached; dictionary atoms = the most common feature count among them (run_features:
    n_latents resolved, plus the scaffold axes a run has beside its atoms), and the L0 counts every
    number per stance (scaffold axes included: metrics.json's l0). Rows:
    method, seed, k, n_atoms, fvu_time, fvu_features. Kept in out/baselines.json and reused by later
    runs of the sweep while a split's key (data, transform, split, atoms) is the same."""
    from gaitsae.fsio import write_json

    columns = ["method", "seed", "k", "n_atoms", "fvu_time", "fvu_features"]
    done = df[df["status"] == "done"]
    if done.empty:
        return pd.DataFrame(columns=columns)
    by_point = {p.name: p for p in points}
    groups: dict[str, tuple] = {}
    for _, row in done.iterrows():
        config = by_point[row["point"]].config
        name = json.dumps(split_key(config), sort_keys=True)
        groups.setdefault(name, (config, []))[1].append(row)
    cache = out / "baselines.json"
    saved = json.loads(cache.read_text()) if cache.is_file() else {}
    saved = {json.dumps(e["key"], sort_keys=True): e for e in saved.get("splits", [])}
    entries, shown = [], []
    for name, (config, rows_done) in groups.items():
        n_atoms = int(pd.Series([run_features(r) for r in rows_done]).mode().iloc[0])
        key = {**split_key(config), "n_atoms": n_atoms}
        entry = dict(saved.get(json.dumps(key, sort_keys=True), {"key": key, "rows": []}))
        ks = sorted({max(round(r["l0"]), 1) for r in rows_done})
        missing = [k for k in ks if k not in {r["k"] for r in entry["rows"]}]
        if missing:
            entry["rows"] = entry["rows"] + _baseline_rows(config, missing, n_atoms)
        entries.append(entry)
        shown += [{**r, "seed": config.training.seed} for r in entry["rows"] if r["k"] in ks]
    if entries != list(saved.values()):
        write_json(cache, {"splits": entries})
    return pd.DataFrame(shown, columns=columns).sort_values(["method", "seed", "k"]).reset_index(drop=True)


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
    scaling = "channel" if f.scaling == "whiten" else f.scaling
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
                         "fvu_time": M.fvu_time(curves, recon, ds.channels),
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
    from gaitsae import outdir
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
            with outdir.staged(where, "stability", overwrite=True) as build:  # the three files together
                S.write(S.stability(dirs, max_stances=STANCES_FOR_STABILITY), build)
            doc = json.loads(doc_path.read_text())
        s = doc["summary"]
        rows.append({"group": group, "model": members[0].config.model_name, "n_seeds": len(members),
                     "share_0.9_mean": s["share_0.9_mean"], "share_0.9_min": s["share_0.9_min"],
                     "share_0.9_max": s["share_0.9_max"], "share_0.7_mean": s["share_0.7_mean"],
                     "untrained_share_0.9_mean": s.get("untrained_share_0.9_mean"),
                     "activation_r_median_0.9": s["activation_r_median_0.9"],
                     "feature_stability_mean": s["feature_stability_mean"],
                     "file": str(doc_path.relative_to(out))})
    return pd.DataFrame(rows)
