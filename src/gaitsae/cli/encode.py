"""`gaitsae encode RUN [--data DIR] [--out FILE]`: latents of every stance, as CSV or Parquet by
the extension of FILE. Parquet carries each latent column's name (analysis.naming) in the field's
metadata ("name") and the run, data and all names in the schema metadata under b"gaitsae"."""

from __future__ import annotations

from pathlib import Path

from gaitsae.cli.options import PARQUET_KEY, add_overwrite_option, check_table_out, write_table_out



def add_parser(sub) -> None:
    p = sub.add_parser("encode", help="write every stance's latent activations to CSV or Parquet",
                       description="One row per stance: IDs, side, metadata, and one column per feature "
                                   "(scaffold_0 … for a dense scaffold, if the model has one; latent_0 …: sparse). "
                                   "CSV or Parquet by the extension of --out; Parquet keeps each feature's short "
                                   "name in its column's metadata.")
    p.add_argument("run", help="run directory")
    p.add_argument("--data", help="data directory (default: the run's data.path, if it still holds the data "
                                  "the run was trained on)")
    p.add_argument("--out", help=".parquet or .csv file to write, new or an earlier gaitsae Parquet output "
                                 "(an existing CSV needs --overwrite; default: RUN/activations.parquet)")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    import pandas as pd

    from gaitsae.analysis.directions import name_features
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE
    from gaitsae.training.rundir import run_data

    out = Path(args.out or Path(args.run) / "activations.parquet")
    check_table_out(out, args.overwrite, "encode")
    est = GaitSAE.load(args.run, progress=False)
    data = args.data or run_data(args.run, est.config_)
    dataset = est.select(load_dataset(data.split(","), channels=est.config_.data.channels,
                                      sides=est.config_.data.sides))
    latents = est.transform(dataset)
    columns = list(est.feature_names_)
    names = name_features(est.feature_directions(), latents, dataset.curves, dataset.channels,
                          est.model_.active_threshold)
    codes = pd.DataFrame(latents, columns=columns)
    table = pd.concat([dataset.stances.reset_index(drop=True).assign(synthetic=dataset.synthetic), codes], axis=1)
    mark = {"run": str(Path(args.run).resolve()), "data": data, "feature_names": dict(zip(columns, names))}
    write_table_out(out, table, args.overwrite, "encode", metadata={PARQUET_KEY.decode(): mark},
                    column_metadata={c: {"name": n} for c, n in zip(columns, names)})
    print(f"{len(table)} stances × {latents.shape[1]} latents → {out}")
    return 0
