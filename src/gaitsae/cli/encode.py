"""`gaitsae encode RUN [--data DIR] [--out FILE]`: latents of every stance."""

from __future__ import annotations

import json
from pathlib import Path

from gaitsae.cli.options import add_overwrite_option

PARQUET_KEY = b"gaitsae"  # schema metadata key that marks a Parquet file as gaitsae's encode output


def add_parser(sub) -> None:
    p = sub.add_parser("encode", help="write every stance's latent activations to Parquet",
                       description="One row per stance: IDs, side, metadata, and one column per latent (latent_0 …).")
    p.add_argument("run", help="run directory")
    p.add_argument("--data", help="data directory (default: the run's data.path, if it still holds the data "
                                  "the run was trained on)")
    p.add_argument("--out", help="Parquet file to write, new or an earlier encode output (default: "
                                 "RUN/activations.parquet)")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def _ours(path: Path) -> bool:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return PARQUET_KEY in (pq.read_schema(path).metadata or {})
    except (OSError, pa.ArrowException):
        return False


def run(args) -> int:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gaitsae import outdir
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE
    from gaitsae.fsio import atomic_path
    from gaitsae.training.rundir import run_data

    out = Path(args.out or Path(args.run) / "activations.parquet")
    outdir.check_file(out, _ours, "encode output", overwrite=args.overwrite)
    est = GaitSAE.load(args.run, progress=False)
    data = args.data or run_data(args.run, est.config_)
    dataset = load_dataset(data.split(","), channels=est.config_.data.channels, sides=est.config_.data.sides)
    latents = est.transform(dataset)
    table = dataset.stances[dataset.stances["side"].isin(est.config_.data.sides)].reset_index(drop=True)
    codes = pd.DataFrame(latents, columns=[f"latent_{j}" for j in range(latents.shape[1])])
    table = pa.Table.from_pandas(pd.concat([table.assign(synthetic=dataset.synthetic), codes], axis=1),
                                 preserve_index=False)
    mark = json.dumps({"run": str(Path(args.run).resolve()), "data": data}).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), PARQUET_KEY: mark})
    with outdir.output_file(out, _ours, "encode output", overwrite=args.overwrite), atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    print(f"{table.num_rows} stances × {latents.shape[1]} latents → {out}")
    return 0
