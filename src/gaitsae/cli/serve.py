"""`gaitsae serve RUN [RUN ...]`: the gait explorer, a local read-only web app over the runs' feature stores."""

from __future__ import annotations

import sys

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="browse features, stances, subjects and akin gaits in a local web app",
                       description="Serve the explorer for one or more runs (building missing feature stores "
                                   "first). Bound to 127.0.0.1 unless --host says otherwise.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    p.add_argument("--data", help="data directory (default: each run's data.path)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.set_defaults(handler=run)


def _check_free(host: str, port: int) -> None:
    """Fail at once, in one line, when the address cannot be bound (before building any store)."""
    import socket

    from gaitsae.errors import GaitsaeError

    try:
        family = socket.getaddrinfo(host, port)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise GaitsaeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def run(args) -> int:
    import uvicorn

    from gaitsae.errors import GaitsaeError
    from gaitsae.explorer.app import create_app
    from gaitsae.explorer.store import open_store

    if not 0 < args.port < 65536:
        raise GaitsaeError(f"--port must be from 1 to 65535, got {args.port}")
    _check_free(args.host, args.port)
    stores = [open_store(run, args.data) for run in args.runs]
    from gaitsae.explorer.clinical import clinic

    for store in stores:
        store.sae()  # load each model now, not on the first stance request
        clinic(store)  # and the deviations the course and what-if pages read
    app = create_app(stores)
    if args.host not in LOOPBACK:
        print(f"warning: serving on {args.host}: the data become visible to anyone on the network who can "
              f"reach this machine", file=sys.stderr)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"gait explorer for {', '.join(s.name for s in stores)}: http://{host}:{args.port}/  (Ctrl-C stops)",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
