"""From a run and a data directory to the per-stance and per-session deviation tables that
`deviations`, `classify` and the report share (one encode pass, checked inputs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.analysis.directions import name_features
from gaitsae.clinical.deviation import DeviationModel, cross_fit, reconstruction_error, session_table
from gaitsae.clinical.reference import describe_reference, select_reference
from gaitsae.data import load_dataset
from gaitsae.data.dataset import GaitDataset
from gaitsae.data.reader import available_channels, resolve_directories
from gaitsae.errors import DataError
from gaitsae.estimator import GaitSAE
from gaitsae.features.transform import TransformedCurves

# Stance-table columns carried into the deviation tables.
ID_COLUMNS = ["dataset", "subject", "session", "subject_id", "session_id", "trial_id", "side", "class_label",
              "affected_side", "train", "train_balanced", "test"]


@dataclass
class Encoded:
    """A run applied to data: the selected dataset, scaled inputs [n, n_features] (an array, or
    features.transform.TransformedCurves when they are not to be held), latents [n, n_latents],
    time-domain feature directions [n_latents, n_channels, 101]."""

    est: GaitSAE
    dataset: GaitDataset
    inputs: np.ndarray | TransformedCurves
    latents: np.ndarray
    directions: np.ndarray

    @property
    def names(self) -> list[str]:
        """Every feature's short name (analysis.naming): the one description of a feature."""
        return name_features(self.directions, self.latents, self.dataset.curves, self.dataset.channels,
                             self.est.model_.active_threshold)


def load_run_data(run_dir, data, est: GaitSAE | None = None) -> GaitDataset:
    """The data directory read with the run's channels and sides; a missing channel is an error."""
    est = est or GaitSAE.load(run_dir, progress=False)
    channels, sides = est.config_.data.channels, est.config_.data.sides
    for d in resolve_directories(data):
        missing = [ch for ch in channels if ch not in available_channels(d, sides)]
        if missing:
            raise DataError(f"run {run_dir} models channels {','.join(channels)} but {d} has no "
                            f"{missing[0]} PRO files for sides {','.join(sides)}")
    return load_dataset(data, channels=channels, sides=sides)


def encode(run_dir, data) -> Encoded:
    est = GaitSAE.load(run_dir, progress=False)
    dataset = data if isinstance(data, GaitDataset) else load_run_data(run_dir, data, est)
    ds = est.select(dataset)
    inputs = latents = None
    for rows, p in est.round_trips(ds):  # block by block: reconstructions are not kept (~1 GB at GaitRec size)
        if inputs is None:
            inputs = np.empty((len(ds), p.inputs.shape[1]), dtype=p.inputs.dtype)
            latents = np.empty((len(ds), p.latents.shape[1]), dtype=p.latents.dtype)
        inputs[rows], latents[rows] = p.inputs, p.latents
    return Encoded(est, ds, inputs, latents, est.feature_directions())


@dataclass
class Deviations:
    stances: pd.DataFrame   # one row per stance: IDs, in_reference, fold, index, score, z_*
    sessions: pd.DataFrame  # one row per session and side: means, n_stances, asym_*
    model: DeviationModel   # the full reference (for stances not in the data)
    reference: dict         # describe_reference: rule, label, size and a warning when small


def deviations(enc: Encoded, reference: str = "healthy", n_folds: int = 5, seed: int = 0,
               healthy_run=None) -> Deviations:
    """Cross-fitted deviations of every stance. healthy_run: a run trained on healthy stances
    only; adds its reconstruction error (`recon_error`) and whether that model trained on the
    subject (`healthy_model_saw`: such errors are optimistic)."""
    st = enc.dataset.stances
    is_ref = select_reference(st, reference)
    about = describe_reference(st, is_ref, reference)
    dev = cross_fit(enc.latents, enc.dataset.curves, enc.dataset.channels, st["subject"].to_numpy(), is_ref,
                    n_folds, seed, enc.est.model_.active_threshold, enc.est.feature_kinds_)
    values = pd.DataFrame({"index": dev.index, "score": dev.score})
    if healthy_run is not None:
        healthy = GaitSAE.load(healthy_run, progress=False)
        check_same_inputs(healthy_run, healthy, enc.est)
        recon = healthy.round_trip(enc.dataset).curves
        values["recon_error"] = reconstruction_error(enc.dataset.curves, recon, dev.model.reference)
        split = getattr(healthy, "split_", None)
        seen = set() if split is None else set(split.loc[split["split"] != "test", "subject"])
        values["healthy_model_saw"] = st["subject"].isin(seen).to_numpy()
    z = dev.z.astype(np.float32)
    ids = st[[c for c in ID_COLUMNS if c in st]].reset_index(drop=True)
    stances = pd.concat([ids.assign(level="stance", in_reference=is_ref, fold=dev.fold), values,
                         pd.DataFrame(z, columns=[f"z_{j}" for j in range(z.shape[1])])], axis=1)
    sess_ids = st[[c for c in ID_COLUMNS if c in st and c != "trial_id"]].assign(in_reference=is_ref, fold=dev.fold)
    sessions = session_table(sess_ids, values, z).assign(level="session")
    return Deviations(stances, sessions, dev.model, about)


def check_same_inputs(healthy_run, healthy: GaitSAE, est: GaitSAE) -> None:
    """The healthy run must model the run's channels and sides (else its reconstructions
    cannot be compared stance by stance)."""
    for what in ("channels", "sides"):
        theirs, ours = getattr(healthy.config_.data, what), getattr(est.config_.data, what)
        if tuple(theirs) != tuple(ours):
            raise DataError(f"--healthy-run {healthy_run} models {what} {','.join(theirs)}, "
                            f"the run models {','.join(ours)}: train it with the same {what}")


def table_paths(path) -> dict[str, Path]:
    """Where `deviations --out DIR/NAME.EXT` writes: DIR/NAME_stances.EXT (one row per stance) and
    DIR/NAME_sessions.EXT (one row per session and side)."""
    path = Path(path)
    return {level: path.with_name(f"{path.stem}_{level}{path.suffix}") for level in ("stances", "sessions")}


def write_tables(dev: Deviations, path, names, write=None) -> dict[str, Path]:
    """The stance table and the session table (table_paths), CSV or Parquet by the extension. In
    Parquet: the reference, the index's μ, σ and the feature names in the schema metadata under
    b"gaitsae", each z_j / asym_j column's feature name in its field metadata. The session table is
    written first, so a half-finished run never leaves a new stance table beside an old session one
    unnoticed (both are written atomically). write: how a table is written (default
    fsio.write_table; the CLI's adds the output's lock)."""
    from gaitsae.fsio import write_table

    write = write or write_table

    paths = table_paths(path)
    meta = {**dev.reference, "log_d_mean": dev.model.log_d_mean, "log_d_sd": dev.model.log_d_sd,
            "feature_names": list(names)}
    columns = {f"{prefix}_{j}": {"name": n} for j, n in enumerate(names) for prefix in ("z", "asym")}
    for level, table in (("sessions", dev.sessions), ("stances", dev.stances)):
        write(paths[level], table.drop(columns="level"), metadata={"gaitsae": meta},
                    column_metadata={c: m for c, m in columns.items() if c in table})
    return paths
