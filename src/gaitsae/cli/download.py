"""`gaitsae download {gutenberg,gaitrec} --to DIR`: fetch the published databases (needs internet)."""

from __future__ import annotations

from gaitsae.data.download import API_ENV, COLLECTIONS, download


def add_parser(sub) -> None:
    p = sub.add_parser(
        "download", help="download the Gutenberg Gait Database or GaitRec from figshare (needs internet)",
        description="Download the published files of a database from its public figshare collection "
                    f"({', '.join(f'{k}: {v}' for k, v in COLLECTIONS.items())}), verifying size and md5, "
                    "resuming partial downloads. Needs internet access.")
    p.add_argument("dataset", choices=sorted(COLLECTIONS), help="which database to fetch")
    p.add_argument("--to", required=True, help="target directory")
    p.add_argument("--only", default=None, help="shell pattern of file names to fetch, e.g. 'GRF_F_V_*'")
    p.add_argument("--api-url", default=None, help=f"figshare API base URL (default: ${API_ENV} or the public API)")
    p.set_defaults(handler=run)


def run(args) -> int:
    files = download(args.dataset, args.to, api_url=args.api_url, only=args.only)
    print(f"{args.dataset}: {len(files)} files in {args.to}")
    return 0
