"""`gaitsae download {gutenberg,gaitrec} --to DIR`: fetch the published databases (needs internet)."""

from __future__ import annotations

from gaitsae.cli.options import add_overwrite_option

# gaitsae.data.download's COLLECTIONS and API_ENV, named here so --help needs no HTTP stack
# (a test checks they agree).
DATASETS = ("gaitrec", "gutenberg")
API_ENV = "GAITSAE_FIGSHARE_API"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "download", help="download the Gutenberg Gait Database or GaitRec from figshare (needs internet)",
        description="Download the published files of a database from its public figshare collection, verifying "
                    "size and md5, resuming partial downloads. Needs internet access.")
    p.add_argument("dataset", choices=DATASETS, help="which database to fetch")
    p.add_argument("--to", required=True, help="target directory (new, or an earlier download's)")
    p.add_argument("--only", default=None, help="shell pattern of file names to fetch, e.g. 'GRF_F_V_*'")
    p.add_argument("--api-url", default=None, help=f"figshare API base URL (default: ${API_ENV} or the public API)")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from gaitsae import outdir
    from gaitsae.data.download import download

    # An earlier download into the same directory is continued (its partial files resumed).
    earlier = (outdir.read_marker(args.to) or {}).get("kind") == "download"
    with outdir.filling(args.to, "download", overwrite=args.overwrite, trusted=earlier):
        files = download(args.dataset, args.to, api_url=args.api_url, only=args.only)
    print(f"{args.dataset}: {len(files)} files in {args.to}")
    return 0
