"""Download the published Gutenberg Gait Database and GaitRec from figshare (needs internet).

The files are found through figshare's public REST API (v2): the collection's articles, page by
page, then each article's files (name, size, md5, download URL); no file URL is hard-coded.
Each file is fetched to NAME.part, resumed with an HTTP Range request when a part exists,
checked against its size and md5, and only then renamed to NAME. Zip archives are extracted
(into a temporary folder, then moved) so the CSVs sit at the top of the target directory.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from gaitsae.errors import GaitsaeError
from gaitsae.fsio import write_text

API_URL = "https://api.figshare.com/v2"
API_ENV = "GAITSAE_FIGSHARE_API"
COLLECTIONS = {"gaitrec": 4788012, "gutenberg": 5311538}
PAGE_SIZE = 100
TIMEOUT_S = 60
CHUNK = 1 << 16


class DownloadError(GaitsaeError):
    """A file could not be fetched or did not verify."""


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    md5: str
    url: str


def _get_json(url: str):
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot reach {url} ({reason}); downloading needs internet access — "
                            "rerun on a connected machine (partial files resume)") from None
    except ValueError as exc:
        raise DownloadError(f"{url}: the answer is not JSON ({exc})") from None


def list_files(dataset: str, api_url: str | None = None) -> list[RemoteFile]:
    """Every file of every article in the dataset's collection (paged)."""
    if dataset not in COLLECTIONS:
        raise DownloadError(f"unknown dataset {dataset!r} (known: {', '.join(COLLECTIONS)})")
    base = (api_url or os.environ.get(API_ENV) or API_URL).rstrip("/")
    articles, page = [], 1
    while True:
        batch = _get_json(f"{base}/collections/{COLLECTIONS[dataset]}/articles?page={page}&page_size={PAGE_SIZE}")
        if not isinstance(batch, list):
            raise DownloadError(f"{base}: unexpected listing of collection {COLLECTIONS[dataset]}")
        articles += batch
        if len(batch) < PAGE_SIZE:
            break
        page += 1
    files = []
    for article in articles:
        for f in _get_json(f"{base}/articles/{article['id']}/files"):
            if f.get("is_link_only"):
                continue
            files.append(RemoteFile(f["name"], int(f["size"]), f.get("computed_md5") or f.get("supplied_md5") or "",
                                    f["download_url"]))
    return files


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _fetch(remote: RemoteFile, target: Path, progress: bool) -> None:
    """remote → target.part (resuming) → verified → target."""
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if have > remote.size:
        part.unlink()
        have = 0
    request = urllib.request.Request(remote.url)
    if 0 < have < remote.size:
        request.add_header("Range", f"bytes={have}-")
    if have < remote.size:
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                if have and response.status != 206:  # the server ignored Range: start again
                    have = 0
                with open(part, "ab" if have else "wb") as out, tqdm(
                    total=remote.size, initial=have, unit="B", unit_scale=True, desc=remote.name,
                    disable=not progress, leave=False,
                ) as bar:
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        bar.update(len(chunk))
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"{remote.name}: HTTP {exc.code} {exc.reason} from {remote.url}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise DownloadError(f"{remote.name}: download interrupted ({getattr(exc, 'reason', exc)}); "
                                "rerun the same command to resume") from None
    size = part.stat().st_size
    if size != remote.size:
        raise DownloadError(f"{remote.name}: got {size} of {remote.size} bytes; rerun the same command to resume")
    if remote.md5 and _md5(part) != remote.md5:
        part.unlink()
        raise DownloadError(f"{remote.name}: md5 does not match the published checksum; the partial file was "
                            "removed, rerun to fetch it again")
    os.replace(part, target)


def _extract(archive: Path, to: Path) -> list[Path]:
    """Members of a zip, flattened into `to`, each moved into place only once complete."""
    out = []
    with tempfile.TemporaryDirectory(dir=to, prefix=".unzip-") as tmp, zipfile.ZipFile(archive) as zf:
        for member in zf.infolist():
            name = Path(member.filename).name
            if member.is_dir() or not name or name.startswith("."):
                continue
            extracted = Path(zf.extract(member, tmp))
            os.replace(extracted, to / name)
            out.append(to / name)
    return out


def download(dataset: str, to, api_url: str | None = None, only: str | None = None,
             progress: bool = True) -> list[Path]:
    """Fetch (or complete) the dataset's files into `to`; returns the files now present.

    Files already present with the right md5 are skipped, so a rerun only does what is missing.
    `only` is a shell pattern on file names (e.g. "GRF_F_V_*").
    """
    to = Path(to)
    to.mkdir(parents=True, exist_ok=True)
    files = [f for f in list_files(dataset, api_url) if only is None or fnmatch.fnmatch(f.name, only)]
    if not files:
        raise DownloadError(f"no files of {dataset} match {only!r}")
    present = []
    for remote in tqdm(files, desc=f"{dataset} files", unit="file", disable=not progress):
        target = to / remote.name
        done_marker = to / f".{remote.name}.extracted"
        if remote.name.endswith(".zip") and done_marker.exists() and done_marker.read_text() == remote.md5:
            continue
        if not (target.exists() and target.stat().st_size == remote.size
                and (not remote.md5 or _md5(target) == remote.md5)):
            _fetch(remote, target, progress)
        if remote.name.endswith(".zip"):
            try:
                present += _extract(target, to)
            except zipfile.BadZipFile:
                raise DownloadError(f"{target}: not a valid zip archive") from None
            write_text(done_marker, remote.md5)
            target.unlink()
        else:
            present.append(target)
    return present

