"""`gaitsae whatif RUN --stance ID --set f=v [--set …] [--toward-healthy] --out FILE`: one stance
with features set to new activations; its curves before and after, and the index it would get."""

from __future__ import annotations

from gaitsae.cli.options import add_overwrite_option, check_table_out, write_table_out


def add_parser(sub) -> None:
    p = sub.add_parser("whatif", help="set a stance's features to new values: curves and index before and after",
                       description="One row per channel and point of stance (0-100 %): the recorded curve, its "
                                   "reconstruction, the reconstruction with the features changed and the recorded "
                                   "curve plus that change, in BW or m. Moving feature j by d moves the curves by "
                                   "exactly d times its direction. See docs/clinical.md.")
    p.add_argument("run", help="run directory")
    p.add_argument("--data", help="data directory (default: the run's data.path)")
    p.add_argument("--stance", required=True, type=int,
                   help="stance row in the data (the `stance` column of `gaitsae export --per stance` and the "
                        "explorer's stance pages)")
    p.add_argument("--set", action="append", default=[], metavar="FEATURE=VALUE", dest="changes",
                   help="set a feature (its number or column name, e.g. 3 or latent_3) to VALUE; repeatable")
    p.add_argument("--toward-healthy", action="store_true",
                   help="also set every deviating sparse feature (|z| > 2) to its typical healthy value "
                        "(--set wins where both name a feature)")
    p.add_argument("--reference", default="healthy", help="healthy reference (as for `gaitsae deviations`)")
    p.add_argument("--out", required=True, help="table to write: FILE.csv or FILE.parquet")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def parse_changes(texts, kinds) -> dict[int, float]:
    import math

    from gaitsae.clinical.kinds import feature_index
    from gaitsae.errors import GaitsaeError

    out = {}
    for text in texts:
        name, sep, value = text.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not math.isfinite(number):
            raise GaitsaeError(f"--set {text!r}: give FEATURE=VALUE with a finite number, e.g. --set 3=0.5")
        out[feature_index(name, kinds)] = number
    return out


def run(args) -> int:
    import numpy as np
    import pandas as pd

    from gaitsae.channels import CHANNEL_UNITS
    from gaitsae.clinical.kinds import feature_columns, feature_kinds
    from gaitsae.clinical.pipeline import deviations, encode
    from gaitsae.clinical.whatif import changes_toward_healthy, index_of
    from gaitsae.errors import GaitsaeError
    from gaitsae.training.rundir import run_data

    check_table_out(args.out, args.overwrite)
    if not args.changes and not args.toward_healthy:
        raise GaitsaeError("nothing to change: give --set FEATURE=VALUE and/or --toward-healthy")
    from gaitsae.estimator import GaitSAE

    est = GaitSAE.load(args.run, progress=False)
    kinds = feature_kinds(est)
    changes = parse_changes(args.changes, kinds)
    enc = encode(args.run, args.data or run_data(args.run, est.config_))
    if not 0 <= args.stance < len(enc.dataset):
        raise GaitsaeError(f"--stance must be from 0 to {len(enc.dataset) - 1}, got {args.stance}")
    model = deviations(enc, args.reference).model
    latents = enc.latents[args.stance]
    if args.toward_healthy:
        changes = {**changes_toward_healthy(latents, model, kinds), **changes}
    w = enc.est.what_if(enc.dataset.curves[args.stance], changes)
    channels = enc.dataset.channels
    n = w.curves.shape[-1]
    table = pd.DataFrame({
        "channel": np.repeat(channels, n), "unit": np.repeat([CHANNEL_UNITS[c] for c in channels], n),
        "percent_stance": np.tile(np.arange(n), len(channels)), "recorded": w.curves.ravel(),
        "reconstruction": w.reconstruction.ravel(), "what_if_reconstruction": w.changed_reconstruction.ravel(),
        "what_if": w.changed_curves.ravel()})
    write_table_out(args.out, table, args.overwrite)
    before, after = index_of(model, np.stack([w.latents, w.changed_latents]))
    columns = feature_columns(kinds)
    row = enc.dataset.stances.iloc[args.stance]
    print(f"stance {args.stance} ({row['subject']}, session {row['session']}, trial {row['trial_id']}, {row['side']}): "
          + (", ".join(f"{columns[j]} {w.latents[j]:.3g} → {v:.3g}" for j, v in sorted(changes.items())) or "no change")
          + f"; index {before:.1f} → {after:.1f} → {args.out}")
    if enc.dataset.synthetic:
        print("(SYNTHETIC phantom data)")
    return 0
