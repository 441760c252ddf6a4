"""`gaitsae encode RUN [--data DIR] [--out FILE]`: latents of every stance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gaitsae.data import load_dataset
from gaitsae.estimator import GaitSAE
from gaitsae.fsio import atomic_path


def add_parser(sub) -> None:
    p = sub.add_parser("encode", help="write every stance's latent activations to Parquet",
                       description="One row per stance: IDs, side, metadata, and one column per latent (latent_0 …).")
    p.add_argument("run", help="run directory")
    p.add_argument("--data", help="data directory (default: the run's data.path)")
    p.add_argument("--out", help="Parquet file to write (default: RUN/activations.parquet)")
    p.set_defaults(handler=run)


def run(args) -> int:
    est = GaitSAE.load(args.run, progress=False)
    dataset = load_dataset(args.data or est.config_.data.path, channels=est.config_.data.channels,
                           sides=est.config_.data.sides)
    out = args.out or str(Path(args.run) / "activations.parquet")
    latents = est.transform(dataset)
    table = dataset.stances[dataset.stances["side"].isin(est.config_.data.sides)].reset_index(drop=True)
    codes = pd.DataFrame(latents, columns=[f"latent_{j}" for j in range(latents.shape[1])])
    table = pd.concat([table.assign(synthetic=dataset.synthetic), codes], axis=1)
    with atomic_path(out) as tmp:
        table.to_parquet(tmp, index=False)
    print(f"{len(table)} stances × {latents.shape[1]} latents → {out}")
    return 0
