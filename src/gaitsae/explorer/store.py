"""The feature store: one run's model applied to its data, written once as Parquet + .npy beside the run.

    RUN/explorer/
      meta.json           key, run, model, channels, units, counts, reference group, metrics
      stances.parquet     stance (row id), IDs, side, metadata, class, split
      latents.parquet     sparse long form: stance, latent, value (active latents only)
      errors.parquet      stance, fvu (feature space), rmse_<channel> (channel's unit)
      features.parquet    latent, kind ("scaffold" / "sparse": GaitModel.feature_kinds), column (encode's
                          column name: scaffold_i, latent_j), name (analysis.naming), firing_rate, bimodality, subject_share (between-subject
                          share of activation variance), signature (the label, or ""), importance,
                          activation quantiles, best_variable, best_r
      correlations.parquet latent, variable, label, level, n, r (metadata correlations)
      latents.npy         float32 [n_stances, n_latents], dense, for neighbour search
      curves.npy          float32 [n_stances, n_channels, 101], the recorded curves
      arrays.npz          directions [n_latents, n_channels, 101]; mean, sd (all stances) and
                          norm_mean, norm_sd (reference stances) [n_channels, 101]

The store is keyed on a digest of the run's model files and the data's content: it is rebuilt
only when one of them changes, built in a temporary folder and swapped into place
(outdir.replacing; the run's marker names it). Queries go
through DuckDB over registered tables with bound parameters only; no path or SQL text comes
from a request.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae import outdir
from gaitsae.channels import CHANNEL_UNITS, STANCE_COLUMNS
from gaitsae.data import cache as content
from gaitsae.errors import CheckpointError, DataError

STORE_VERSION = 4  # 2: every metadata r over subjects' means; 3: names, bimodality, subject share; 4: kind, column
STORE_DIR = "explorer"
RUN_FILES = ("config.toml", "model.safetensors", "model.json", "transform.safetensors", "transform.json")
QUANTILES = (0.1, 0.5, 0.9, 0.99)


def data_path(run_dir, data=None) -> str:
    """The data directory to index: `data`, else the run's config data.path."""
    if data:
        return str(data)
    from gaitsae.training.rundir import read_config

    path = read_config(run_dir).data.path
    if not path:
        raise DataError(f"{run_dir}/config.toml: data.path is empty; give --data DIR")
    return path


def store_key(run_dir, data: str, channels, sides) -> str:
    """Digest of the run's model files and the data's content (gaitsae.data.cache keys)."""
    from gaitsae.data.reader import data_digest

    run_files = [Path(run_dir) / name for name in RUN_FILES]
    return content.content_key(run_files, extra=(STORE_VERSION, data_digest(data.split(","), channels, sides)))


def _check_run(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir}: not a run directory")
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        raise CheckpointError(f"{run_dir}: not a run directory ({missing[0]} is missing)")


def ensure_index(run_dir, data=None, progress: bool = True) -> tuple[Path, bool]:
    """The store of a run, built when missing or stale; returns (store dir, whether it was built)."""
    run_dir = Path(run_dir)
    _check_run(run_dir)
    from gaitsae.training.rundir import read_config

    config = read_config(run_dir)
    path = data_path(run_dir, data)
    key = store_key(run_dir, path, config.data.channels, config.data.sides)
    out = run_dir / STORE_DIR
    try:
        if json.loads((out / "meta.json").read_text())["key"] == key:
            return out, False
    except (OSError, ValueError, KeyError):
        pass
    outdir.mark(run_dir, [STORE_DIR])  # the run's marker names it before it is written
    with outdir.replacing(out, "explorer", overwrite=True) as where:  # built beside, swapped in
        build_index(run_dir, path, key, where, progress=progress)
    return out, True


def build_index(run_dir: Path, data: str, key: str, where: Path, progress: bool = True) -> Path:
    """Encode every stance of `data` with the run's model and write the store into `where` (see
    the module docstring)."""
    from gaitsae.progress import progress as progress_bar

    from gaitsae.analysis.directions import name_features
    from gaitsae.analysis.importance import importance
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE

    est = GaitSAE.load(run_dir, progress=False)
    steps = progress_bar(4, f"index {run_dir.name}", "step", enabled=progress)
    dataset = load_dataset(data.split(",") if "," in data else data, channels=est.config_.data.channels,
                           sides=est.config_.data.sides)
    steps.update()
    ds, latents, errors, total_variance = _encode_blocks(est, dataset)
    steps.update()
    th = float(est.model_.active_threshold)
    active = np.abs(latents) > th
    stances = _stance_table(ds.stances, getattr(est, "split_", None))
    channels = list(ds.channels)
    errors.insert(0, "stance", stances["stance"])
    directions = est.feature_directions().astype(np.float32)
    features, correlations = _feature_tables(latents, active, ds.stances,
                                             name_features(directions, latents, ds.curves, channels, th),
                                             importance(latents, est.model_.decoder_directions().detach().numpy(),
                                                        None, total_variance), est.feature_kinds_)
    reference, label = _reference(ds.stances)
    steps.update()
    rows, cols = np.nonzero(active)
    long = pd.DataFrame({"stance": rows.astype(np.int64), "latent": cols.astype(np.int32),
                         "value": latents[rows, cols]})
    meta = {
        "version": STORE_VERSION, "key": key, "run": run_dir.name, "run_dir": str(run_dir.resolve()),
        "data": data, "model": est.config_.model_name, "channels": channels,
        "units": [CHANNEL_UNITS[ch] for ch in channels], "n_stances": int(len(ds)),
        "n_latents": int(latents.shape[1]), "n_subjects": int(ds.n_subjects), "active_threshold": th,
        "synthetic": bool(ds.synthetic), "reference": label, "n_reference": int(reference.sum()),
        "metrics": {k: v for k, v in getattr(est, "metrics_", {}).items() if k in ("fvu", "r2_time", "l0", "dead_fraction")},
    }
    stances.to_parquet(where / "stances.parquet", index=False)
    long.to_parquet(where / "latents.parquet", index=False)
    errors.to_parquet(where / "errors.parquet", index=False)
    features.to_parquet(where / "features.parquet", index=False)
    correlations.to_parquet(where / "correlations.parquet", index=False)
    np.save(where / "latents.npy", latents, allow_pickle=False)
    np.save(where / "curves.npy", np.asarray(ds.curves, dtype=np.float32), allow_pickle=False)
    np.savez(where / "arrays.npz", directions=directions, mean=ds.curves.mean(0), sd=ds.curves.std(0),
             norm_mean=ds.curves[reference].mean(0), norm_sd=ds.curves[reference].std(0))
    (where / "meta.json").write_text(json.dumps(meta, indent=1))
    steps.update()
    steps.close()
    return run_dir / STORE_DIR


def _encode_blocks(est, dataset):
    """Encode and reconstruct block by block (memory does not grow with the data): the selected
    dataset, latents float32 [n, n_latents], the per-stance errors table (fvu in feature space
    against the total variance of all stances, rmse per channel) and that total variance."""
    ds = est.select(dataset)
    parts, sq_error, rmse = [], [], []
    total = total_sq = 0.0
    for _, (block, x, latents, x_hat, recon) in est.round_trips(ds):
        x = x.astype(np.float64)
        total = total + x.sum(0)
        total_sq = total_sq + (x ** 2).sum(0)
        parts.append(latents.astype(np.float32))
        sq_error.append(((x - x_hat) ** 2).sum(1))
        rmse.append(np.sqrt(((block.curves - recon) ** 2).mean(2)))
    n = len(ds)
    total_variance = float(np.maximum(total_sq / n - (total / n) ** 2, 0).sum())
    errors = pd.DataFrame({"fvu": np.concatenate(sq_error) / max(total_variance, 1e-12)})
    rmse = np.concatenate(rmse)
    for c, ch in enumerate(ds.channels):
        errors[f"rmse_{ch}"] = rmse[:, c]
    return ds, np.concatenate(parts), errors, total_variance


def _stance_table(stances: pd.DataFrame, split) -> pd.DataFrame:
    table = stances[[c for c in STANCE_COLUMNS if c in stances.columns]].reset_index(drop=True).copy()
    table.insert(0, "stance", np.arange(len(table), dtype=np.int64))
    if "session_date" in table:
        table["session_date"] = table["session_date"].astype(str)
    by_subject = dict(zip(split["subject"], split["split"])) if split is not None else {}
    table["split"] = table["subject"].map(by_subject).fillna("not in run")
    return table


def _reference(stances: pd.DataFrame) -> tuple[np.ndarray, str]:
    """The norm band's stances: the healthy reference of `gaitsae deviations` and the report
    (gaitsae.clinical.reference, default rule), else all stances when nobody is healthy. The
    label names the rule and its size, with the warning when it is small."""
    from gaitsae.clinical.reference import describe_reference, select_reference

    try:
        mask = select_reference(stances)
    except (DataError, KeyError):
        return np.ones(len(stances), dtype=bool), f"all stances ({stances['subject'].nunique()} subjects; none healthy)"
    about = describe_reference(stances, mask)
    label = f"{about['reference_label']}, {about['n_reference_subjects']} subjects"
    return mask, label + (f" — warning: {about['warning']}" if "warning" in about else "")


def _feature_tables(latents, active, stances, names, imp, kinds) -> tuple[pd.DataFrame, pd.DataFrame]:
    from gaitsae.analysis.activations import bimodality_coefficient, signature_label
    from gaitsae.analysis.metadata import LEVELS, VARIABLES, between_subject_shares, feature_correlations
    from gaitsae.models import feature_names

    n_latents = latents.shape[1]
    share = between_subject_shares(latents, stances["subject"].to_numpy())
    features = pd.DataFrame({"latent": np.arange(n_latents), "kind": [str(k) for k in kinds],
                             "column": feature_names(kinds), "name": list(names), "firing_rate": active.mean(0),
                             "bimodality": [bimodality_coefficient(latents[:, j]) for j in range(n_latents)],
                             "subject_share": share, "signature": [signature_label(v) for v in share],
                             "importance": imp})
    typical = np.zeros(n_latents)
    quant = np.zeros((n_latents, len(QUANTILES)))
    for j in range(n_latents):
        values = latents[active[:, j], j]
        if len(values):
            typical[j] = np.median(values)
            quant[j] = np.quantile(values, QUANTILES)
    features["typical_activation"] = typical
    for q, column in zip(QUANTILES, quant.T):
        features[f"q{round(q * 100)}"] = column
    features["max_activation"] = np.where(active.any(0), np.abs(latents).max(0), 0.0)
    subject = stances["subject"].to_numpy()
    rows = []
    variables = dict(VARIABLES)
    if "class_label" in stances and stances["class_label"].nunique() > 1 and stances["class_label"].eq("HC").any():
        stances = stances.assign(patient=stances["class_label"].ne("HC").astype(float))
        variables["patient"] = ("patient (0 healthy control, 1 patient)", "subject")
    for column, (label, _) in variables.items():
        if column not in stances:
            continue
        # every r as in the report's "Features and the person": subjects' means (metadata.feature_correlations)
        r, _, n = feature_correlations(latents, stances[column].to_numpy(dtype=float), subject, "subject")
        if n < 4 or not np.isfinite(r).any():
            continue  # no such metadata here (e.g. no walking speed): no empty column
        rows.append(pd.DataFrame({"latent": np.arange(n_latents), "variable": column, "label": label,
                                  "level": LEVELS["subject"], "n": n, "r": r}))
    correlations = (pd.concat(rows, ignore_index=True) if rows else
                    pd.DataFrame({"latent": [], "variable": [], "label": [], "level": [], "n": [], "r": []}))
    best = (correlations.dropna(subset=["r"]).assign(abs_r=lambda d: d["r"].abs())
            .sort_values("abs_r", ascending=False).drop_duplicates("latent").set_index("latent"))
    features["best_variable"] = features["latent"].map(best["variable"]) if len(best) else None
    features["best_r"] = features["latent"].map(best["r"]) if len(best) else np.nan
    return features, correlations


class Store:
    """A built store, opened read-only: tables in pandas/DuckDB, arrays in numpy (curves memory-mapped)."""

    def __init__(self, path):
        import duckdb

        path = Path(path)
        try:
            self.meta = json.loads((path / "meta.json").read_text())
            self.stances = pd.read_parquet(path / "stances.parquet")
            self.features = pd.read_parquet(path / "features.parquet")
            self.correlations = pd.read_parquet(path / "correlations.parquet")
            self.errors = pd.read_parquet(path / "errors.parquet")
            # column-major: a feature's column and a sparse query's few columns are contiguous reads
            self.latents = np.asfortranarray(np.load(path / "latents.npy", allow_pickle=False))
            self.curves = np.load(path / "curves.npy", mmap_mode="r", allow_pickle=False)
            with np.load(path / "arrays.npz", allow_pickle=False) as arrays:
                self.arrays = {k: arrays[k] for k in arrays.files}
            long = pd.read_parquet(path / "latents.parquet")
        except (OSError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{path}: damaged feature store ({exc}); delete it to rebuild") from exc
        # plain numpy object columns: row lookups (iloc) on Arrow-backed strings cost ~5 ms per column
        self.stances = self.stances.astype({c: object for c in self.stances.columns
                                            if not pd.api.types.is_numeric_dtype(self.stances[c])})
        self.path = path
        self.name = self.meta["run"]
        self.channels = tuple(self.meta["channels"])
        self.threshold = float(self.meta["active_threshold"])
        norms = np.linalg.norm(self.latents, axis=1, keepdims=True)
        self.unit = np.divide(self.latents, norms, out=np.zeros_like(self.latents), where=norms > 0)
        self.columns = {c: self.stances[c].to_numpy() for c in self.stances.columns}  # fast row access
        self.error_columns = {c: self.errors[c].to_numpy() for c in self.errors.columns}
        self.subjects = self.columns["subject"]
        self.subject_codes = pd.factorize(self.stances["subject"])[0]
        self.trial_codes = pd.factorize(self.stances["subject"] + "/" + self.stances["session"] + "/"
                                        + self.stances["trial_id"].astype(str))[0]
        self.by_subject = self.stances.groupby("subject").indices  # subject → stance ids
        self.classes = (sorted(self.stances["class_label"].dropna().unique().tolist())
                        if "class_label" in self.stances else [])
        self._db = duckdb.connect(":memory:")
        for name, table in (("stances", self.stances), ("latents", long), ("errors", self.errors),
                            ("features", self.features)):
            self._db.register("incoming", table)  # a table of the database, so cursors see it too
            self._db.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")  # constant names only
            self._db.unregister("incoming")
        self._sae = None
        self._lock = threading.Lock()
        self.cache: dict = {}  # values derived on first use by the app (gaitsae.explorer.payloads)

    @property
    def n_stances(self) -> int:
        return len(self.stances)

    @property
    def n_latents(self) -> int:
        return self.latents.shape[1]

    def query(self, sql: str, params=()) -> pd.DataFrame:
        """Run a constant SQL text with bound parameters (a cursor per call: thread-safe)."""
        cursor = self._db.cursor()
        try:
            return cursor.execute(sql, list(params)).df()
        finally:
            cursor.close()

    def sae(self):
        """The run's GaitSAE, loaded once on first use (reconstructions, new curves)."""
        with self._lock:
            if self._sae is None:
                from gaitsae.estimator import GaitSAE

                self._sae = GaitSAE.load(self.meta["run_dir"], progress=False)
            return self._sae

    def rows(self, ids, columns=None) -> dict[str, np.ndarray]:
        """Columns of the stances table at stance ids, as arrays (cheaper than DataFrame.iloc per request)."""
        return {c: self.columns[c][ids] for c in (columns or self.columns) if c in self.columns}

    def active(self, stance: int) -> np.ndarray:
        """Indices of the latents active on one stance, strongest first."""
        row = self.latents[stance]
        idx = np.flatnonzero(np.abs(row) > self.threshold)
        return idx[np.argsort(-np.abs(row[idx]))]


def open_store(run_dir, data=None, progress: bool = True) -> Store:
    """Open a run's store, building it first when missing or stale."""
    path, _ = ensure_index(run_dir, data, progress=progress)
    return Store(path)


__all__ = ["Store", "build_index", "ensure_index", "open_store"]
