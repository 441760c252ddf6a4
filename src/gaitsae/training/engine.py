"""The training loop, top to bottom: seed, build, initialise from data, Adam over shuffled
minibatches, validate each epoch, keep the best weights, stop early, checkpoint every epoch.

A run resumed from its checkpoint continues with the same weights, optimiser moments and
random-number states, so it ends exactly where an uninterrupted run with the same seed ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from gaitsae.errors import CheckpointError
from gaitsae.models import GaitModel, build_model
from gaitsae.progress import progress as progress_bar
from gaitsae.runtime import use_threads
from gaitsae.training import checkpoint
from gaitsae.training.config import RunConfig, config_to_dict, resolve_auto

EVAL_CHUNK = 8192
INIT_SAMPLE = 4096  # training stances shown to init_from_data
# Settings a resumed run may change: the budget, how often to checkpoint, where the data lives
# and which device runs it. Anything else changes the run, so resuming with it is refused.
RESUMABLE = {"data": ("path",), "training": ("epochs", "max_seconds", "checkpoint_every", "device")}


@dataclass
class EpochRecord:
    """Mean loss terms of one epoch on the training and validation stances."""

    epoch: int
    seconds: float  # since the run started (a resumed run counts the time before the interruption)
    train: dict[str, float] = field(default_factory=dict)
    val: dict[str, float] = field(default_factory=dict)

    def row(self) -> dict[str, float]:
        return {"epoch": self.epoch, "seconds": self.seconds,
                **{f"train_{k}": v for k, v in self.train.items()}, **{f"val_{k}": v for k, v in self.val.items()}}


@dataclass
class TrainResult:
    config: RunConfig  # with data-dependent defaults resolved (e.g. topk's n_latents)
    model: GaitModel
    history: list[EpochRecord]
    best_epoch: int
    seconds: float
    stop_reason: str  # "epochs", "early_stop", "max_seconds" or "diverged"
    init_state: dict  # the untrained start's weights (after init_from_data): what training is held against


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resume_fingerprint(config: RunConfig, x_train: np.ndarray) -> dict:
    """What must be unchanged for a checkpoint to be continued: the config minus RESUMABLE, and
    a digest of the training vectors (the same data, split and transform)."""
    mapping = config_to_dict(config)
    for section, keys in RESUMABLE.items():
        mapping[section] = {k: v for k, v in mapping[section].items() if k not in keys}
    digest = hashlib.blake2b(np.ascontiguousarray(x_train, dtype=np.float32).data, digest_size=16).hexdigest()
    return {"config": mapping, "train_digest": digest, "train_shape": list(x_train.shape)}


@contextlib.contextmanager
def deterministic():
    """Deterministic kernels for the duration of training, then the caller's setting back."""
    previous = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)  # warn, not fail, on GPU ops without one
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=warn_only)


def train_step(model: GaitModel, optimizer: torch.optim.Optimizer, batch: torch.Tensor) -> dict[str, torch.Tensor]:
    """One optimiser step on `batch` with the model's hooks around it (after_backward: e.g. keep
    decoder rows unit-norm; after_step: e.g. dead-latent counts); returns the loss terms."""
    terms = model.loss_terms(batch)
    optimizer.zero_grad(set_to_none=True)
    terms["loss"].backward()
    model.after_backward()
    optimizer.step()
    model.after_step()
    return terms


@torch.no_grad()
def evaluate(model: GaitModel, x: torch.Tensor) -> dict[str, float]:
    """Loss terms over all of x (in chunks), weighted by chunk size."""
    model.eval()
    sums: dict[str, float] = {}
    for chunk in x.split(EVAL_CHUNK):
        for k, v in model.loss_terms(chunk).items():
            sums[k] = sums.get(k, 0.0) + float(v) * len(chunk)
    return {k: v / len(x) for k, v in sums.items()}


def _rng_tensors(batches: torch.Generator, device: torch.device) -> dict[str, torch.Tensor]:
    out = {"rng.torch": torch.get_rng_state(), "rng.batches": batches.get_state()}
    if device.type == "cuda":
        out["rng.cuda"] = torch.cuda.get_rng_state(device)
    return out


AUTO_EPOCHS = 100


def budget(t, n_train: int) -> tuple[int, int]:
    """(epoch cap, patience). An explicit `epochs` is used as given. epochs = 0 (auto): a cap of
    100 epochs and the patience, both stretched by the same factor so that the cap allows at least
    `min_steps` optimiser steps: a small dataset gets more passes, and the patience keeps its
    share of the budget (10 epochs of 160 stances are 50 steps, too few to see a plateau)."""
    if t.epochs:
        return t.epochs, t.patience
    steps_per_epoch = math.ceil(n_train / t.batch_size)
    stretch = max(1, math.ceil(t.min_steps / (steps_per_epoch * AUTO_EPOCHS)))
    return AUTO_EPOCHS * stretch, t.patience * stretch


def train_model(config: RunConfig, x_train: np.ndarray, x_val: np.ndarray, checkpoint_dir: Path | None = None,
                resume: bool = False, progress: bool = True) -> TrainResult:
    """Train config.model on feature vectors float32 [n, n_features]; returns the model with the
    weights of its best validation epoch, or its untrained start (best_epoch -1) if no epoch beat it. With checkpoint_dir, a checkpoint is written there
    every `training.checkpoint_every` epochs and on stopping; resume=True continues from it."""
    config = resolve_auto(config, len(x_train))
    t = config.training
    epochs, patience = budget(t, len(x_train))
    device = resolve_device(t.device)
    use_threads(config, x_train.shape[1], device)
    torch.manual_seed(t.seed)  # model initialisation and any sampling inside loss_terms (svae)
    np.random.seed(t.seed)  # nothing here draws from numpy, but a model hook might
    model = build_model(config.model_name, x_train.shape[1], config.model_params()).to(device)
    xt = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    xv = torch.as_tensor(x_val, dtype=torch.float32, device=device)
    sample = torch.randperm(len(xt), generator=torch.Generator().manual_seed(t.seed))[:INIT_SAMPLE]
    model.init_from_data(xt[sample.to(device)])
    init_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=t.learning_rate)
    batches = torch.Generator().manual_seed(t.seed)  # the minibatch order, checkpointed
    history: list[EpochRecord] = []
    # The untrained start is the first candidate for "best" (best_epoch -1): training that only
    # makes validation worse gives the start back rather than its least bad epoch.
    start_loss = evaluate(model, xv)["loss"]
    best_loss = start_loss if math.isfinite(start_loss) else math.inf
    best_epoch, bad_epochs, stop_reason, elapsed, step = -1, 0, "", 0.0, 0
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    path = Path(checkpoint_dir) / checkpoint.FILE if checkpoint_dir else None
    fingerprint = resume_fingerprint(config, x_train) if path is not None else None

    if resume and path is not None and path.exists():
        tensors, state = checkpoint.load(path)
        if state.get("fingerprint") != fingerprint:
            raise CheckpointError(f"{path}: written for a different config or training data than this run; "
                                  f"resume with the run's own config.toml and data, or start a new --out")
        model.load_state_dict({k[6:]: v.to(device) for k, v in tensors.items() if k.startswith("model.")})
        init_state = {k[5:]: v.to(device) for k, v in tensors.items() if k.startswith("init.")} or init_state
        best_state = {k[5:]: v.to(device) for k, v in tensors.items() if k.startswith("best.")}
        checkpoint.unpack_optimizer(optimizer, tensors, state["optimizer"])
        torch.set_rng_state(tensors["rng.torch"])
        batches.set_state(tensors["rng.batches"])
        if device.type == "cuda" and "rng.cuda" in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda"], device)
        history = [EpochRecord(**r) for r in state["history"]]
        best_loss, best_epoch, bad_epochs = state["best_loss"], state["best_epoch"], state["bad_epochs"]
        elapsed, step = state["seconds"], state["step"]
        # A run that used up its epochs or time may be continued with a larger budget;
        # one that stopped early or diverged is done.
        stop_reason = state["stop_reason"] if state["stop_reason"] in ("early_stop", "diverged") else ""
        done = len(history)
        print(f"resume {path.parent.parent}: " + (
            f"training had stopped ({stop_reason}) after epoch {done}; keeping its best epoch {best_epoch + 1}"
            if stop_reason else f"continuing from epoch {done + 1} of {epochs} (the checkpoint holds {done} "
                                f"epoch{'s' if done != 1 else ''})"), file=sys.stderr)

    start = time.perf_counter() - elapsed
    bar = progress_bar(epochs, f"train {config.model_name}", "epoch", progress and not stop_reason, len(history))
    with deterministic():
        for epoch in range(len(history), epochs):
            if stop_reason:
                break
            model.train()
            sums: dict[str, float] = {}
            for index in torch.randperm(len(xt), generator=batches).split(t.batch_size):
                terms = train_step(model, optimizer, xt[index.to(device)])
                step += 1
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(index)
            record = EpochRecord(epoch, time.perf_counter() - start, {k: v / len(xt) for k, v in sums.items()},
                                 evaluate(model, xv))
            history.append(record)

            val_loss = record.val["loss"]
            if not math.isfinite(val_loss) or not math.isfinite(record.train["loss"]):
                stop_reason = "diverged"  # keep the best weights seen so far
            elif val_loss < best_loss:
                best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad_epochs += 1
            if not stop_reason and bad_epochs >= patience:
                stop_reason = "early_stop"
            elif not stop_reason and t.max_seconds > 0 and record.seconds > t.max_seconds:
                stop_reason = "max_seconds"
            elif not stop_reason and epoch + 1 == epochs:
                stop_reason = "epochs"
            bar.update(1)
            bar.set_postfix({f"val_{k}": f"{v:.3g}" for k, v in record.val.items()})

            if path is not None and (stop_reason or (epoch + 1) % t.checkpoint_every == 0):
                opt_tensors, opt_info = checkpoint.pack_optimizer(optimizer)
                tensors = {**{f"model.{k}": v for k, v in model.state_dict().items()},
                           **{f"best.{k}": v for k, v in best_state.items()},
                           **{f"init.{k}": v for k, v in init_state.items()}, **opt_tensors,
                           **_rng_tensors(batches, device)}
                checkpoint.save(path, tensors, {
                    "fingerprint": fingerprint, "config": config_to_dict(config), "epoch": epoch, "step": step, "optimizer": opt_info,
                    "history": [asdict(r) for r in history], "best_loss": best_loss, "best_epoch": best_epoch,
                    "bad_epochs": bad_epochs, "stop_reason": stop_reason, "seconds": record.seconds})
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        model.after_training(xt[sample.to(device)])
    return TrainResult(config, model, history, best_epoch, history[-1].seconds if history else 0.0,
                       stop_reason or "epochs", init_state)
