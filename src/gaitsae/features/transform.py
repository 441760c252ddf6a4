"""FeatureTransform: stance curves ⇄ flat, scaled feature vectors (fitted on training data only).

domain="wavelet" (default): per channel db5 level-4 coefficients (see wavelet.py), channels
concatenated; domain="time": the 101-point curves themselves (the ablation).
scaling="channel" (the class default): centre every coefficient by its training mean and divide each
channel by one scale, the RMS of its centred coefficients. Channels differ in units (body
weights vs metres), so each needs a scale, but one per channel keeps near-noise detail
coefficients small (on real vGRF, z-scoring each coefficient left PCA-10 with FVU 0.51; one
scale per channel gave PCA-5 FVU 0.03). scaling="coefficient": z-score every coefficient.
scaling="whiten" (an option, features.scaling = "whiten"; not the default): channel scaling, then
the coordinates along the training data's first `whiten_dims` principal directions, each divided by its SD (PCA whitening). A sparse code
of whitened inputs finds the directions that are sparse, not the ones of largest variance
(Olshausen & Field 1996; FastICA whitens first for the same reason); on channel-scaled inputs a
TopK SAE reproduces principal directions (docs/models.md, issue 20). The inverse is exact within
the kept dimensions; what lies beyond them (a small share of the variance, noise) is dropped.

The parameter is called `domain`, not `transform`, so it cannot shadow the `transform` method.
"""

from __future__ import annotations

import numpy as np
import pywt

from gaitsae.channels import CHANNELS, N_POINTS
from gaitsae.errors import ConfigError, DataError
from gaitsae.features import wavelet as wv

DOMAINS = ("wavelet", "time")
MAX_LEVEL = 8  # 101 points halve to 1 after 7 levels; beyond, coefficients only grow
SCALINGS = ("channel", "coefficient", "whiten")
MAX_WHITEN_DIMS = 4096
BLOCK = 8192  # stances transformed at once (their float64 coefficients are ~40 MB)


def _blocks(n: int):
    return [slice(start, min(n, start + BLOCK)) for start in range(0, max(n, 1), BLOCK)]


class FeatureTransform:
    """curves float32 [n, n_channels, 101] ⇄ vectors float32 [n, n_features]."""

    def __init__(self, domain="wavelet", wavelet="db5", level=4, mode="periodization", scaling="channel",
                 whiten_dims=80):
        self.domain = domain
        self.wavelet = wavelet
        self.level = level
        self.mode = mode
        self.scaling = scaling
        self.whiten_dims = whiten_dims

    def _check(self):
        if self.domain not in DOMAINS:
            raise ConfigError(f"features.domain must be one of {list(DOMAINS)}, got {self.domain!r}")
        if self.scaling not in SCALINGS:
            raise ConfigError(f"features.scaling must be one of {list(SCALINGS)}, got {self.scaling!r}")
        dims = self.whiten_dims
        if isinstance(dims, bool) or not isinstance(dims, int) or not 1 <= dims <= MAX_WHITEN_DIMS:
            raise ConfigError(f"features.whiten_dims must be an integer from 1 to {MAX_WHITEN_DIMS}, got {dims!r}")
        if self.domain == "wavelet":
            if self.wavelet not in pywt.wavelist(kind="discrete"):
                raise ConfigError(f"features.wavelet must be a discrete PyWavelets wavelet (e.g. 'db5'), got {self.wavelet!r}")
            if isinstance(self.level, bool) or not isinstance(self.level, int) or not 1 <= self.level <= MAX_LEVEL:
                raise ConfigError(f"features.level must be an integer from 1 to {MAX_LEVEL}, got {self.level!r}")
            if self.mode not in pywt.Modes.modes:
                raise ConfigError(f"features.mode must be one of {pywt.Modes.modes}, got {self.mode!r}")

    def _band_lengths(self) -> list[int]:
        if self.domain == "time":
            return [N_POINTS]
        return wv.band_lengths(self.wavelet, self.level, self.mode)

    def _raw(self, curves: np.ndarray) -> np.ndarray:
        """Unscaled coefficients [n, n_features]."""
        curves = np.asarray(curves, dtype=np.float64)
        if curves.ndim != 3 or curves.shape[1:] != (len(self.channels_), N_POINTS):
            raise DataError(f"curves must be [n_stances, {len(self.channels_)} channels {list(self.channels_)}, "
                            f"{N_POINTS}], got shape {curves.shape}")
        if self.domain == "time":
            return curves.reshape(len(curves), -1)
        # every channel of every stance in one wavedec call (rows are independent; the same numbers
        # as one call per channel, channel-major), ~6x faster for one stance (encode_stance)
        flat = wv.decompose(curves.reshape(-1, N_POINTS), self.wavelet, self.level, self.mode)
        return flat.reshape(len(curves), -1)

    def _unraw(self, coefficients: np.ndarray) -> np.ndarray:
        n = len(coefficients)
        per = self.n_coefficients_ // len(self.channels_)
        blocks = coefficients.reshape(n, len(self.channels_), per)
        if self.domain == "time":
            return blocks.astype(np.float32)
        out = np.stack([wv.reconstruct(blocks[:, c], self.wavelet, self.level, self.mode)
                        for c in range(len(self.channels_))], axis=1)
        return out.astype(np.float32)

    def fit(self, curves: np.ndarray, channels) -> "FeatureTransform":
        """Learn mean_ and scale_ (and for whiten basis_, sd_) from training curves
        [n, len(channels), 101] (never the test split).

        Block by block (sums, then centred sums of squares; for whiten the scaled covariance), so
        fitting on 100k+ stances never holds their float64 coefficients at once."""
        self._check()
        self.channels_ = tuple(channels)
        n = len(curves)
        total = None
        for block in _blocks(n):
            raw = self._raw(curves[block])
            total = raw.sum(axis=0) if total is None else total + raw.sum(axis=0)
        self.n_coefficients_ = len(total)
        self.mean_ = total / n
        per = self.n_coefficients_ // len(self.channels_)
        squares = np.zeros(self.n_coefficients_)
        for block in _blocks(n):
            squares += ((self._raw(curves[block]) - self.mean_) ** 2).sum(axis=0)
        if self.scaling == "coefficient":
            sd = np.sqrt(squares / n)
            self.scale_ = np.where(sd > 1e-12, sd, 1.0)
        else:
            rms = np.sqrt(squares.reshape(len(self.channels_), per).sum(axis=1) / (n * per))
            self.scale_ = np.repeat(np.where(rms > 1e-12, rms, 1.0), per)
        self.basis_, self.sd_ = (self._whitening(curves) if self.scaling == "whiten" else (None, None))
        self.n_features_ = self.n_coefficients_ if self.basis_ is None else len(self.basis_)
        self.layout_ = self._layout()
        return self

    def _whitening(self, curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The first whiten_dims principal directions [d, n_coefficients] of the scaled training
        vectors and their SDs [d], from their covariance summed block by block; directions with
        (numerically) no variance are left out, so a small training set keeps fewer dimensions
        than asked and nothing is divided by ~0."""
        cov = np.zeros((self.n_coefficients_, self.n_coefficients_))
        for block in _blocks(len(curves)):
            scaled = (self._raw(curves[block]) - self.mean_) / self.scale_
            cov += scaled.T @ scaled
        var, vectors = np.linalg.eigh(cov / max(len(curves) - 1, 1))
        order = np.argsort(var)[::-1]
        sd = np.sqrt(np.clip(var[order], 0.0, None))
        d = int(min(self.whiten_dims, np.sum(sd > 1e-6 * max(sd[0] if len(sd) else 0.0, 1e-12))))
        if d == 0:
            raise DataError("cannot whiten features: the training stances do not vary")
        return vectors[:, order[:d]].T, sd[:d]

    def _layout(self) -> list[tuple[str, str, int, int]]:
        """(channel, band, start, stop) of every block of the scaled coefficients (the feature
        vector, unless whitened: then map weights with coefficient_weights first)."""
        names = ["time"] if self.domain == "time" else wv.band_names(self.level)
        out, start = [], 0
        for ch in self.channels_:
            for band, length in zip(names, self._band_lengths()):
                out.append((ch, band, start, start + length))
                start += length
        return out

    def transform(self, curves: np.ndarray, rows=None) -> np.ndarray:
        """Curves [n, n_channels, 101] (of the stances `rows`, a mask or indices; default all) →
        scaled vectors float32 [n_rows, n_features], block by block: only one block is ever
        float64, and the chosen curves are never copied as a whole (they may be a ~320 MB map)."""
        if rows is not None:
            rows = np.asarray(rows)
            rows = np.flatnonzero(rows) if rows.dtype == bool else rows
        out = np.empty((len(curves) if rows is None else len(rows), self.n_features_), dtype=np.float32)
        for block in _blocks(len(out)) if len(out) else ():
            scaled = self._raw(curves[block] if rows is None else curves[rows[block]]) - self.mean_
            scaled /= self.scale_  # in place: one float64 temporary less per block, the same numbers
            out[block] = scaled if self.basis_ is None else scaled @ self.basis_.T / self.sd_
        return out

    def fit_transform(self, curves: np.ndarray, channels) -> np.ndarray:
        return self.fit(curves, channels).transform(curves)

    def inverse_transform(self, vectors: np.ndarray) -> np.ndarray:
        """Vectors → curves [n, n_channels, 101] (un-whiten, un-scale, add the mean, inverse wavelet)."""
        return self._inverse(vectors, self.mean_)

    def inverse_direction(self, vectors: np.ndarray) -> np.ndarray:
        """The linear part of the inverse (no mean): maps a decoder direction, or a latent's
        contribution activation × direction, into the time domain."""
        return self._inverse(vectors, 0.0)

    def _inverse(self, vectors: np.ndarray, mean) -> np.ndarray:
        """Block by block, like transform: only one block is ever float64."""
        if len(vectors) <= BLOCK:
            return self._unraw(self._unwhiten(vectors) * self.scale_ + mean)
        out = np.empty((len(vectors), len(self.channels_), N_POINTS), dtype=np.float32)
        for block in _blocks(len(vectors)):
            out[block] = self._unraw(self._unwhiten(vectors[block]) * self.scale_ + mean)
        return out

    def _unwhiten(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float64)
        return vectors if self.basis_ is None else (vectors * self.sd_) @ self.basis_

    def unwhitened(self) -> "FeatureTransform":
        """The same transform without its whitening (channel scaling, same mean and scales): the
        space where variance means variance, for PCA and the other classical baselines."""
        if self.basis_ is None:
            return self
        other = FeatureTransform(self.domain, self.wavelet, self.level, self.mode, "channel", self.whiten_dims)
        other.channels_, other.n_coefficients_, other.n_features_ = self.channels_, self.n_coefficients_, self.n_coefficients_
        other.mean_, other.scale_, other.basis_, other.sd_ = self.mean_, self.scale_, None, None
        other.layout_ = self.layout_
        return other

    def coefficient_weights(self, weights: np.ndarray) -> np.ndarray:
        """Rows of weights on feature vectors [m, n_features] → the same linear maps as weights on
        the scaled coefficients [m, n_coefficients] (what an encoder row reads from each channel
        and band; unchanged unless whitened)."""
        weights = np.asarray(weights, dtype=np.float64)
        return weights if self.basis_ is None else (weights / self.sd_) @ self.basis_

    # Persistence without pickle: arrays for safetensors, the rest as JSON.
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict]:
        arrays = {"mean": self.mean_.astype(np.float64), "scale": self.scale_.astype(np.float64)}
        if self.basis_ is not None:
            arrays.update(basis=self.basis_.astype(np.float64), sd=self.sd_.astype(np.float64))
        info = {"domain": self.domain, "wavelet": self.wavelet, "level": self.level, "mode": self.mode,
                "scaling": self.scaling, "whiten_dims": self.whiten_dims, "channels": list(self.channels_),
                "n_features": self.n_features_, "n_coefficients": self.n_coefficients_}
        return arrays, info

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], info: dict) -> "FeatureTransform":
        self = cls(info["domain"], info["wavelet"], info["level"], info["mode"], info["scaling"],
                   info.get("whiten_dims", 80))
        self._check()
        channels = info["channels"]
        if (not isinstance(channels, list) or not channels or len(set(channels)) != len(channels)
                or not set(channels) <= set(CHANNELS)):
            raise ConfigError(f"channels must be a non-empty list of distinct names from {list(CHANNELS)}, "
                              f"got {channels!r}")
        self.channels_ = tuple(channels)
        if type(info["n_features"]) is not int:
            raise ConfigError(f"n_features must be an integer, got {info['n_features']!r}")
        self.n_features_ = info["n_features"]
        whiten = self.scaling == "whiten"
        # the size the settings imply must be the size recorded (whitened: the coefficients before whitening)
        size = "n_coefficients" if whiten else "n_features"
        recorded = info.get(size, self.n_features_)
        if type(recorded) is not int:
            raise ConfigError(f"{size} must be an integer, got {recorded!r}")
        self.n_coefficients_ = len(channels) * sum(self._band_lengths())
        if recorded != self.n_coefficients_:
            raise ConfigError(f"{size} is {recorded}, but {self.domain} features ({self.wavelet}, "
                              f"level {self.level}, {self.mode}) of {len(channels)} channels have "
                              f"{self.n_coefficients_}")
        names = {"mean", "scale", "basis", "sd"} if whiten else {"mean", "scale"}
        if set(arrays) != names:
            raise ValueError(f"expected the arrays {', '.join(sorted(names))}, found {sorted(arrays)}")
        self.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        self.scale_ = np.asarray(arrays["scale"], dtype=np.float64)
        self.basis_ = np.asarray(arrays["basis"], dtype=np.float64) if whiten else None
        self.sd_ = np.asarray(arrays["sd"], dtype=np.float64) if whiten else None
        # ValueError: the run loader turns it into a CheckpointError naming the file.
        if self.mean_.shape != (self.n_coefficients_,) or self.scale_.shape != (self.n_coefficients_,):
            raise ValueError(f"transform arrays mean/scale do not match {self.n_coefficients_} coefficients")
        if whiten and (self.basis_.shape != (self.n_features_, self.n_coefficients_)
                       or self.sd_.shape != (self.n_features_,) or not np.all(self.sd_ > 0)):
            raise ValueError(f"transform arrays basis/sd do not match n_features={self.n_features_} "
                             f"whitened dimensions of {self.n_coefficients_} coefficients")
        self.layout_ = self._layout()
        return self


class TransformedCurves:
    """The scaled inputs of curves [n, n_channels, 101] without holding them all (~330 MB at
    GaitRec size): x[rows] (a mask or indices) transforms those stances, np.asarray(x) every
    stance; the same numbers as transform.transform(curves)[rows]. For callers that hold the
    curves anyway and need the inputs only a few rows, or one step, at a time."""

    def __init__(self, transform: FeatureTransform, curves: np.ndarray):
        self.transform, self.curves = transform, curves
        self.shape = (len(curves), transform.n_features_)
        self.dtype, self.ndim = np.dtype(np.float32), 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        return self.transform.transform(self.curves, rows)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        x = self.transform.transform(self.curves)
        return x if dtype is None else x.astype(dtype, copy=False)
