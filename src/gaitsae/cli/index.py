"""`gaitsae index RUN [--data DIR]`: build the explorer's feature store beside a run."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("index", help="build the explorer's feature store (RUN/explorer/)",
                       description="Encode every stance of the run's data and write Parquet tables and arrays to "
                                   "RUN/explorer/. Rebuilt only when the run's model files or the data change.")
    p.add_argument("run", help="run directory")
    p.add_argument("--data", help="data directory (default: the run's data.path)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args) -> int:
    import time

    from gaitsae.explorer.store import ensure_index

    start = time.perf_counter()
    path, built = ensure_index(args.run, args.data, progress=not args.quiet)
    what = f"built in {time.perf_counter() - start:.1f} s" if built else "up to date"
    print(f"feature store {path}: {what}")
    return 0
