"""GaitSAE: the scikit-learn-style face of gaitsae, used by notebooks and by the CLI.

    sae = GaitSAE(model="topk", n_latents=100).fit(dataset)
    latents = sae.transform(dataset)            # [n_stances, n_latents]
    curves = sae.inverse_transform(latents)     # [n_stances, n_channels, 101]
    sae.save("runs/topk"); GaitSAE.load("runs/topk")
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from gaitsae import outdir
from gaitsae.channels import CHANNELS, SIDES
from gaitsae.data.dataset import GaitDataset
from gaitsae.errors import DataError, GaitsaeError
from gaitsae.features import FeatureTransform
from gaitsae.models import DEFAULT_MODEL, SPARSE, feature_names
from gaitsae.training import metrics as M
from gaitsae.training.config import RunConfig, config_from_dict
from gaitsae.training.engine import train_model
from gaitsae.training.rundir import load_run, read_metrics, read_split, save_run
from gaitsae.training.split import split_subjects


class Pass(NamedTuple):
    """One encode → decode pass: the selected dataset, its feature vectors [n, n_features], latents
    [n, n_latents], reconstructed vectors, and reconstructed curves [n, n_channels, 101] (the last
    two None from round_trip(..., reconstruct=False))."""

    dataset: GaitDataset
    inputs: np.ndarray
    latents: np.ndarray
    reconstruction: np.ndarray
    curves: np.ndarray


class WhatIf(NamedTuple):
    """One stance with some features set to chosen values (GaitSAE.what_if): latents [n_latents] as
    encoded and as changed; curves [n_channels, 101] in BW / m: the recorded stance, its
    reconstruction, the reconstruction from the changed latents, and the recorded stance plus that
    change (what the model does not explain is kept)."""

    latents: np.ndarray
    changed_latents: np.ndarray
    curves: np.ndarray
    reconstruction: np.ndarray
    changed_reconstruction: np.ndarray
    changed_curves: np.ndarray


class GaitSAE:
    """A sparse autoencoder over gait stances, from curves to latents and back.

    model: a name of gaitsae.models.MODELS ("topk", "scaffold", "sae", …); n_latents None: the
    model's default (topk and scaffold: sized by the training stances); extra keyword arguments are
    the model's hyperparameters (e.g. k=8 for topk, n_scaffold=4 for scaffold, kl_weight for sae).
    Everything is validated at fit. feature_kinds_ says which latents are scaffold, which sparse.
    """

    def __init__(self, model=DEFAULT_MODEL, n_latents=None, channels=None, sides=SIDES, domain="wavelet",
                 scaling="channel", whiten_dims=80, epochs=0, batch_size=32, learning_rate=1e-3, patience=10, seed=0,
                 device="auto", progress=True, **model_params):
        self.model = model
        self.n_latents = n_latents
        self.channels = channels
        self.sides = sides
        self.domain = domain
        self.scaling = scaling
        self.whiten_dims = whiten_dims
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.seed = seed
        self.device = device
        self.progress = progress
        self.model_params = model_params

    # -- configuration -------------------------------------------------------------------
    def to_config(self, data_path: str = "") -> RunConfig:
        return config_from_dict({
            "data": {"path": data_path, "channels": list(self.channels or CHANNELS), "sides": list(self.sides)},
            "features": {"domain": self.domain, "scaling": self.scaling, "whiten_dims": self.whiten_dims},
            "model": {"name": self.model, **({} if self.n_latents is None else {"n_latents": self.n_latents}),
                      **self.model_params},
            "training": {"epochs": self.epochs, "batch_size": self.batch_size, "learning_rate": self.learning_rate,
                         "patience": self.patience, "seed": self.seed, "device": self.device},
        })

    @classmethod
    def from_config(cls, config: RunConfig, progress: bool = True) -> "GaitSAE":
        est = cls(model=config.model_name, n_latents=config.model["n_latents"], channels=config.data.channels,
                  sides=config.data.sides, domain=config.features.domain, scaling=config.features.scaling,
                  whiten_dims=config.features.whiten_dims,
                  epochs=config.training.epochs, batch_size=config.training.batch_size,
                  learning_rate=config.training.learning_rate, patience=config.training.patience,
                  seed=config.training.seed, device=config.training.device, progress=progress,
                  **{k: v for k, v in config.model_params().items() if k != "n_latents"})
        est.config_ = config
        return est

    # -- fitting ----------------------------------------------------------------------------
    def _select(self, dataset: GaitDataset, config: RunConfig) -> GaitDataset:
        missing = [c for c in config.data.channels if c not in dataset.channels]
        if missing:
            raise DataError(f"channel {missing[0]} is not in the data (loaded: {', '.join(dataset.channels)})")
        ds = dataset if tuple(config.data.channels) == dataset.channels else dataset.select_channels(config.data.channels)
        sides = ds.stances["side"].isin(config.data.sides).to_numpy()
        ds = ds if sides.all() else ds.subset(sides)  # no copy of the whole dataset when nothing is dropped
        if len(ds) == 0:
            raise DataError(f"no stances on sides {config.data.sides}")
        return ds

    def fit(self, dataset: GaitDataset, run_dir=None, resume: bool = False) -> "GaitSAE":
        """Split by subject, fit the transform on train, train, score on test; with run_dir,
        checkpoint every epoch there and save the run when done, holding the lock the CLI takes
        (a second writer of the same run directory is refused)."""
        if run_dir is None:
            return self._fit(dataset, None, resume)
        with outdir.lock(Path(run_dir)):
            return self._fit(dataset, run_dir, resume)

    def _fit(self, dataset: GaitDataset, run_dir, resume: bool) -> "GaitSAE":
        config = getattr(self, "config_", None) or self.to_config(",".join(dataset.sources))
        self.config_ = config
        ds = self._select(dataset, config)
        t = config.training
        split = split_subjects(ds.stances, t.val_fraction, t.test_fraction, t.seed)
        f = config.features
        self.transform_ = FeatureTransform(f.domain, f.wavelet, f.level, f.mode, f.scaling, f.whiten_dims)
        self.transform_.fit(ds.curves[split == "train"], ds.channels)
        x_train, x_val = (self.transform_.transform(ds.curves[split == name]) for name in ("train", "val"))
        started = time.perf_counter()
        result = train_model(config, x_train, x_val, Path(run_dir) / "checkpoint" if run_dir else None,
                             resume=resume, progress=self.progress)
        del x_train, x_val  # the training vectors are not needed for scoring: free them first
        self.config_ = config = result.config  # data-dependent defaults resolved
        self.model_ = result.model.cpu()
        self.init_state_ = {k: v.cpu() for k, v in result.init_state.items()}
        self.history_ = result.history
        self.split_ = (ds.stances.assign(split=split).drop_duplicates("subject")[["subject", "split"]]
                       .reset_index(drop=True))
        test = ds.subset(split == "test")
        self.metrics_ = self.score(test)
        self.metrics_.update(self._against_pca_and_start(test, ds.curves[split == "train"]))
        # Training time as trained (a resumed run adds the time before the interruption).
        self.metrics_["train_seconds"] = result.seconds if result.history else time.perf_counter() - started
        self.metrics_["epochs_run"] = len(result.history)
        self.metrics_["best_epoch"] = result.best_epoch
        self.metrics_["n_stances"] = {name: int((split == name).sum()) for name in ("train", "val", "test")}
        self.metrics_["n_subjects"] = {name: int(self.split_["split"].eq(name).sum()) for name in ("train", "val", "test")}
        self.metrics_["synthetic"] = bool(dataset.synthetic)
        if run_dir:
            self.save(run_dir)
        return self

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise GaitsaeError("this GaitSAE is not fitted yet: call fit(dataset) or GaitSAE.load(run_dir)")

    # -- using a fitted model -----------------------------------------------------------------
    def _curves(self, data) -> np.ndarray:
        if isinstance(data, GaitDataset):
            return self._select(data, self.config_).curves
        return np.asarray(data, dtype=np.float32)

    def _encode(self, x: np.ndarray) -> torch.Tensor:
        """Latents of feature vectors, encoded in chunks so large datasets stay within memory."""
        if not len(x):
            return torch.zeros((0, len(self.model_.feature_kinds())))
        return torch.cat([self.model_.encode(c) for c in torch.as_tensor(x).split(8192)])

    @property
    def feature_kinds_(self) -> np.ndarray:
        """[n_latents] str: each latent's kind, "scaffold" (dense, coded on every stance) or
        "sparse" (a dictionary atom); models without a scaffold give all "sparse"."""
        self._check_fitted()
        return np.asarray(self.model_.feature_kinds())

    @property
    def feature_names_(self) -> list[str]:
        """Column names of the latents, numbered within their kind: scaffold_0 …, latent_0 …"""
        return feature_names(self.feature_kinds_)

    @torch.no_grad()
    def transform(self, data) -> np.ndarray:
        """Latents float32 [n_stances, n_latents] of a GaitDataset or curves [n, C, 101]."""
        self._check_fitted()
        return self._encode(self.transform_.transform(self._curves(data))).numpy()

    @torch.no_grad()
    def inverse_transform(self, latents: np.ndarray) -> np.ndarray:
        """Curves [n, n_channels, 101] reconstructed from latents."""
        self._check_fitted()
        x_hat = self.model_.decode(torch.as_tensor(np.asarray(latents, dtype=np.float32))).numpy()
        return self.transform_.inverse_transform(x_hat)

    def reconstruct(self, data) -> np.ndarray:
        return self.inverse_transform(self.transform(data))

    @torch.no_grad()
    def feature_directions(self) -> np.ndarray:
        """[n_latents, n_channels, 101]: what one unit of each latent adds to a stance, in the
        time domain (the inverse transform of the decoder direction, not an encoder row)."""
        self._check_fitted()
        return self.transform_.inverse_direction(self.model_.decoder_directions().detach().numpy())

    @torch.inference_mode()
    def encode_stance(self, curve: np.ndarray) -> np.ndarray:
        """Latents [n_latents] of one stance [n_channels, 101]: the low-latency path."""
        self._check_fitted()
        x = self.transform_.transform(np.asarray(curve, dtype=np.float32)[None])
        return self.model_.encode(torch.from_numpy(x))[0].numpy()

    def what_if(self, stance, changes: dict) -> WhatIf:
        """The stance (curves [n_channels, 101]) with features set to new activations, {feature
        index: value}. The decoder is affine and the inverse transform linear, so moving feature j
        by Δ moves the curves by exactly Δ × feature_directions()[j]."""
        self._check_fitted()
        curves = np.asarray(stance, dtype=np.float32)
        latents = self.encode_stance(curves)
        changed = latents.copy()
        for j, value in changes.items():
            if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < len(latents):
                raise GaitsaeError(f"what_if: feature must be an int from 0 to {len(latents) - 1}, got {j!r}")
            if not np.isfinite(value):
                raise GaitsaeError(f"what_if: the value of feature {j} must be finite, got {value!r}")
            changed[j] = value
        recon, changed_recon = self.inverse_transform(np.stack([latents, changed]))
        return WhatIf(latents, changed, curves, recon, changed_recon, curves + (changed_recon - recon))

    @torch.no_grad()
    def round_trip(self, dataset: GaitDataset, reconstruct: bool = True) -> Pass:
        """Everything one encode → decode pass over a dataset gives (score and analysis use it).
        reconstruct=False: the encode half only (reconstruction and curves None), for callers that
        reconstruct just the few stances they draw (at GaitRec size the two arrays are ~0.7 GB)."""
        self._check_fitted()
        ds = self._select(dataset, self.config_)
        x = self.transform_.transform(ds.curves)
        latents = self._encode(x)
        if not reconstruct:
            return Pass(ds, x, latents.numpy(), None, None)
        x_hat = self.model_.decode(latents).numpy()
        return Pass(ds, x, latents.numpy(), x_hat, self.transform_.inverse_transform(x_hat))

    def select(self, dataset: GaitDataset) -> GaitDataset:
        """The stances (sides) and channels of `dataset` this model reads (no copy when that is all of it)."""
        self._check_fitted()
        return self._select(dataset, self.config_)

    def round_trips(self, dataset: GaitDataset, block: int = 8192):
        """round_trip block by block: yields (slice of the selected dataset's stances, Pass of those
        stances), so a pass over 100k+ stances never holds all vectors and reconstructions at once."""
        ds = self.select(dataset)
        for start in range(0, len(ds), block):
            rows = slice(start, min(len(ds), start + block))
            yield rows, self.round_trip(ds.subset(np.arange(rows.start, rows.stop)))

    def score(self, dataset: GaitDataset) -> dict:
        """The metrics of gaitsae.training.metrics on a dataset (the test split in fit): time-domain
        reconstruction, sparsity with the model's encode, and each latent's contribution."""
        ds, x, latents, x_hat, recon = self.round_trip(dataset)
        th = self.model_.active_threshold
        return {**M.score_codes(ds.curves, recon, ds.channels, latents, self._removal_changes(latents, recon), th,
                                M.dense_columns(self.feature_kinds_)),
                "fvu_features": M.fvu(x, x_hat), "active_threshold": th}

    def untrained_start(self) -> "GaitSAE":
        """This fitted model with its untrained start's weights (what GaitSAE.load(run, untrained=True)
        gives for a saved run): every trained result can be held against it."""
        self._check_fitted()
        if not getattr(self, "init_state_", None):
            raise GaitsaeError("this GaitSAE holds no untrained start; load a saved run with untrained=True")
        start = copy.copy(self)
        start.model_ = copy.deepcopy(self.model_)
        start.model_.load_state_dict(self.init_state_)
        return start

    @torch.no_grad()
    def _against_pca_and_start(self, test: GaitDataset, train_curves: np.ndarray) -> dict:
        """Is it more than PCA, and did training help? pca_likeness of the alive sparse features
        (see training/metrics.py; a scaffold is principal directions by construction), and the test
        fvu of the untrained start (fvu_untrained) with training_gain = fvu_untrained − fvu (> 0:
        training improved on its start)."""
        x = self.transform_.transform(test.curves)
        alive = M.active(self._encode(x).numpy(), self.model_.active_threshold).any(axis=0)
        alive &= self.feature_kinds_ == SPARSE
        out = {"pca_likeness": M.pca_likeness(self.feature_directions(), alive, train_curves, self.transform_)}
        if getattr(self, "init_state_", None):
            recon = self.untrained_start().reconstruct(test.curves)
            out["fvu_untrained"] = float(np.mean(list(M.fvu_channel(test.curves, recon, test.channels).values())))
            out["training_gain"] = out["fvu_untrained"] - self.metrics_["fvu"]
        return out

    @torch.no_grad()
    def _removal_changes(self, latents: np.ndarray, recon: np.ndarray):
        """Per latent, the change of the reconstructed curves [m, C, 101] on the m stances where
        it is non-zero when it is zeroed there (elsewhere zeroing it changes nothing)."""
        for j in range(latents.shape[1]):
            rows = np.flatnonzero(latents[:, j] != 0)
            without = latents[rows].copy()
            without[:, j] = 0
            yield self.inverse_transform(without) - recon[rows]

    # -- persistence --------------------------------------------------------------------------
    def save(self, path) -> None:
        self._check_fitted()
        save_run(path, self.config_, self.model_, self.transform_, getattr(self, "history_", None),
                 getattr(self, "split_", None), getattr(self, "metrics_", None), getattr(self, "init_state_", None))

    @classmethod
    def load(cls, path, progress: bool = True, untrained: bool = False) -> "GaitSAE":
        """A saved run; untrained=True gives its untrained start (same transform, split, config)."""
        config, model, transform = load_run(path, untrained=untrained)
        est = cls.from_config(config, progress=progress)
        est.model_, est.transform_ = model, transform
        if (Path(path) / "metrics.json").is_file():
            est.metrics_ = read_metrics(path)
        if (Path(path) / "split.csv").is_file():
            est.split_ = read_split(path)
        return est

    def get_params(self) -> dict:
        return {**{k: v for k, v in vars(self).items() if not k.endswith("_") and k != "model_params"},
                **self.model_params}

    def __repr__(self) -> str:
        return f"GaitSAE(model={self.model!r}, n_latents={self.n_latents})"


__all__ = ["GaitSAE"]
