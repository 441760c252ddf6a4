"""Download the published Gutenberg Gait Database and GaitRec from figshare (needs internet).

The files are found through figshare's public REST API (v2): the collection's articles, page by
page, then each article's files (name, size, md5, download URL); no file URL is hard-coded.
Each file is fetched to NAME.part, resumed with an HTTP Range request when a part exists,
checked against its size and md5, and only then renamed to NAME. Zip archives are extracted
(into a temporary folder, then moved) so the CSVs sit at the top of the target directory.

Nothing the server sends is trusted (docs/robustness.md, "Downloader"): a listed name must be a
plain file name that stays inside the target directory; only http(s) URLs are followed, also
after redirects; a listed size is at most MAX_FILE_BYTES and a body is never read past it;
answers are at most MAX_JSON_BYTES; paging stops at MAX_PAGES and when a page repeats.
"""

from __future__ import annotations

import fnmatch
import hashlib
import http.client
import json
import os
import re
import tempfile
import urllib.error
import urllib.parse
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
MAX_FILE_BYTES = 8 << 30  # the largest published file (GaitRec's RAW tables) is far smaller
MAX_JSON_BYTES = 16 << 20
MAX_PAGES = 100  # 10,000 articles; the two collections have a few dozen
MAX_REDIRECTS = 10
SCHEMES = ("http", "https")


class DownloadError(GaitsaeError):
    """A file could not be fetched or did not verify."""


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    md5: str
    url: str


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to another http(s) URL, and at most MAX_REDIRECTS times."""

    max_redirections = MAX_REDIRECTS

    def http_error_302(self, req, fp, code, msg, headers):
        target = urllib.parse.urljoin(req.full_url, headers.get("location") or headers.get("uri") or "")
        if urllib.parse.urlsplit(target).scheme not in SCHEMES:
            raise DownloadError(f"{req.full_url}: redirected to {target[:200]!r}; only http(s) URLs are followed")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


# No file://, ftp:// or data: handlers: an opener that can only speak HTTP(S).
_OPENER = urllib.request.OpenerDirector()
for _handler in (urllib.request.ProxyHandler(), urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(),
                 urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor(), _HttpOnlyRedirects()):
    _OPENER.add_handler(_handler)


def _check_url(url, what: str) -> str:
    if not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in SCHEMES:
        raise DownloadError(f"{what}: {str(url)[:200]!r} is not an http(s) URL; nothing else is fetched")
    return url


def _open(url_or_request, what: str):
    """Open an http(s) URL; every failure is one DownloadError line naming `what`."""
    url = getattr(url_or_request, "full_url", url_or_request)
    _check_url(url, what)
    try:
        return _OPENER.open(url_or_request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{what}: HTTP {exc.code} {exc.reason} from {url}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"{what}: cannot reach {url} ({reason}); downloading needs internet access — "
                            "rerun on a connected machine (partial files resume)") from None


def _get_json(url: str):
    with _open(url, "figshare listing") as response:
        try:
            body = response.read(MAX_JSON_BYTES + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"{url}: answer interrupted ({exc})") from None
    if len(body) > MAX_JSON_BYTES:
        raise DownloadError(f"{url}: answer larger than {MAX_JSON_BYTES >> 20} MB; not a figshare listing")
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError as exc:
        raise DownloadError(f"{url}: the answer is not JSON ({exc})") from None


def safe_name(name, to: Path) -> str:
    """`name` if it is a plain file name that stays inside `to`; else a DownloadError."""
    ok = (isinstance(name, str) and name not in ("", ".", "..") and not name.startswith(".")
          and not re.search(r"[/\\\x00-\x1f]", name) and len(name.encode("utf-8", "replace")) <= 255)
    if not ok or (to / name).resolve().parent != to.resolve():
        raise DownloadError(f"the listing names a file {str(name)[:200]!r}: not a plain file name inside {to}; "
                            "nothing was written for it")
    return name


def _articles(base: str, collection: int) -> list[int]:
    """Article IDs of a collection, page by page, stopping on a short or repeated page."""
    ids, seen = [], set()
    for page in range(1, MAX_PAGES + 1):
        url = f"{base}/collections/{collection}/articles?page={page}&page_size={PAGE_SIZE}"
        batch = _get_json(url)
        if not isinstance(batch, list) or not all(isinstance(a, dict) and type(a.get("id")) is int for a in batch):
            raise DownloadError(f"{url}: unexpected listing of collection {collection} (not a list of articles)")
        page_ids = [a["id"] for a in batch]
        if page_ids and seen.issuperset(page_ids):  # a page seen before: a server ignoring `page`
            break
        ids += [i for i in page_ids if i not in seen]
        seen.update(page_ids)
        if len(batch) < PAGE_SIZE:
            break
    else:
        raise DownloadError(f"{base}: the listing of collection {collection} goes on past {MAX_PAGES} pages "
                            f"of {PAGE_SIZE}; refusing to page further")
    return ids


def _remote(entry, url: str) -> RemoteFile | None:
    """One listed file, checked field by field (None for link-only entries)."""
    if not isinstance(entry, dict):
        raise DownloadError(f"{url}: unexpected file entry {str(entry)[:100]!r}")
    if entry.get("is_link_only"):
        return None
    name, size, link = entry.get("name"), entry.get("size"), entry.get("download_url")
    md5 = entry.get("computed_md5") or entry.get("supplied_md5") or ""
    if type(size) is not int or not 0 <= size <= MAX_FILE_BYTES:
        raise DownloadError(f"{url}: file {str(name)[:100]!r} lists size {str(size)[:40]!r}; expected 0 to "
                            f"{MAX_FILE_BYTES} bytes")
    if not isinstance(md5, str) or (md5 and not re.fullmatch(r"[0-9a-f]{32}", md5)):
        raise DownloadError(f"{url}: file {str(name)[:100]!r} lists md5 {str(md5)[:40]!r}; expected 32 hex digits")
    return RemoteFile(name, size, md5, _check_url(link, f"{url}: file {str(name)[:100]!r}"))


def list_files(dataset: str, api_url: str | None = None) -> list[RemoteFile]:
    """Every file of every article in the dataset's collection (paged), each entry checked."""
    if dataset not in COLLECTIONS:
        raise DownloadError(f"unknown dataset {dataset!r} (known: {', '.join(COLLECTIONS)})")
    base = _check_url((api_url or os.environ.get(API_ENV) or API_URL).rstrip("/"), "--api-url")
    files = []
    for article in _articles(base, COLLECTIONS[dataset]):
        url = f"{base}/articles/{article}/files"
        entries = _get_json(url)
        if not isinstance(entries, list):
            raise DownloadError(f"{url}: unexpected file list (not a list)")
        files += [f for f in (_remote(e, url) for e in entries) if f is not None]
    return files


def _md5(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "md5").hexdigest()


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
        with _open(request, remote.name) as response:
            if have and response.status != 206:  # the server ignored Range: start again
                have = 0
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > remote.size - have:
                raise DownloadError(f"{remote.name}: the server sends {length} bytes, more than the listed "
                                    f"{remote.size - have}; refused")
            _copy(response, part, have, remote, progress)
    size = part.stat().st_size
    if size != remote.size:
        raise DownloadError(f"{remote.name}: got {size} of {remote.size} bytes; rerun the same command to resume")
    if remote.md5 and _md5(part) != remote.md5:
        part.unlink()
        raise DownloadError(f"{remote.name}: md5 does not match the published checksum; the partial file was "
                            "removed, rerun to fetch it again")
    os.replace(part, target)


def _copy(response, part: Path, have: int, remote: RemoteFile, progress: bool) -> None:
    """Append the body to `part`, never reading more than the listed size (plus one byte to tell)."""
    left = remote.size - have
    try:
        with open(part, "ab" if have else "wb") as out, tqdm(
            total=remote.size, initial=have, unit="B", unit_scale=True, desc=remote.name,
            disable=not progress, leave=False,
        ) as bar:
            while left > 0 and (chunk := response.read(min(CHUNK, left))):
                out.write(chunk)
                left -= len(chunk)
                bar.update(len(chunk))
            extra = response.read(1) if left == 0 else b""
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(f"{remote.name}: download interrupted ({getattr(exc, 'reason', exc)}); "
                            "rerun the same command to resume") from None
    if extra:
        part.unlink()
        raise DownloadError(f"{remote.name}: the server sent more than the listed {remote.size} bytes; "
                            "the partial file was removed")


def _extract(archive: Path, to: Path) -> list[Path]:
    """Members of a zip, flattened into `to`, each moved into place only once complete."""
    out = []
    with tempfile.TemporaryDirectory(dir=to, prefix=".unzip-") as tmp, zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.infolist() if not m.is_dir() and Path(m.filename).name
                   and not Path(m.filename).name.startswith(".")]
        if sum(m.file_size for m in members) > MAX_FILE_BYTES:
            raise DownloadError(f"{archive}: unpacks to more than {MAX_FILE_BYTES} bytes; refused")
        for member in members:
            name = safe_name(Path(member.filename.replace("\\", "/")).name, to)
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
    try:
        to.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"--to {to}: cannot use it as a directory ({exc.strerror})") from None
    files = list_files(dataset, api_url)
    names = [safe_name(f.name, to) for f in files]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DownloadError(f"the listing names {twice[0]!r} more than once; refusing to guess which is meant")
    files = [f for f in files if only is None or fnmatch.fnmatch(f.name, only)]
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

