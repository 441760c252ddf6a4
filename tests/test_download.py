"""The downloader end to end against a real HTTP server on loopback."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import zipfile

import pytest

from gaitsae.data import download as dl
from gaitsae.data.download import DownloadError, download
from tests.figshare_server import FigshareServer

GUTENBERG = dl.COLLECTIONS["gutenberg"]


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(f"folder/{name}", data)
    return buf.getvalue()


@pytest.fixture
def files():
    big = bytes(range(256)) * 4000  # ~1 MB, so a cut leaves a real partial file
    return {
        # more articles than one page holds, so the listing must be paged
        **{1000 + i: {f"GRF_extra_{i}.csv": f"a,b\r\n{i},{i}\r\n".encode()} for i in range(5)},
        2000: {"GRF_metadata.csv": b"SUBJECT_ID,SESSION_ID\r\n1,1\r\n", "GRF_F_V_PRO_left.csv": big},
        3000: {"GRF_F_AP_PRO.zip": _zip({"GRF_F_AP_PRO_left.csv": b"x\r\n1\r\n", "GRF_F_AP_PRO_right.csv": b"x\r\n2\r\n"})},
    }


@pytest.fixture
def server(files, monkeypatch):
    monkeypatch.setattr(dl, "PAGE_SIZE", 3)
    with FigshareServer(GUTENBERG, files) as srv:
        yield srv


def test_download__lists_pages_and_fetches_every_file(server, files, tmp_path):
    got = download("gutenberg", tmp_path, api_url=server.url, progress=False)
    assert (tmp_path / "GRF_F_V_PRO_left.csv").read_bytes() == files[2000]["GRF_F_V_PRO_left.csv"]
    assert (tmp_path / "GRF_F_AP_PRO_right.csv").read_bytes() == b"x\r\n2\r\n"  # extracted from the zip
    assert not (tmp_path / "GRF_F_AP_PRO.zip").exists()
    assert len(got) == 5 + 2 + 2
    pages = [p for p, _ in server.requests if "/articles?" in p]
    assert len(pages) == 3  # 7 articles, 3 per page
    assert not list(tmp_path.glob("*.part"))


def test_download__rerun_fetches_nothing(server, tmp_path):
    download("gutenberg", tmp_path, api_url=server.url, progress=False)
    before = len(server.requests)
    download("gutenberg", tmp_path, api_url=server.url, progress=False)
    fetched = [p for p, _ in server.requests[before:] if p.startswith("/download/")]
    assert fetched == []


def test_download__resumes_an_interrupted_file_with_range(server, files, tmp_path):
    server.cut_after["GRF_F_V_PRO_left.csv"] = 300_000
    with pytest.raises(DownloadError, match="GRF_F_V_PRO_left.csv: (got 300000 of|download interrupted)"):
        download("gutenberg", tmp_path, api_url=server.url, only="GRF_F_V_*", progress=False)
    assert not (tmp_path / "GRF_F_V_PRO_left.csv").exists()
    assert (tmp_path / "GRF_F_V_PRO_left.csv.part").stat().st_size == 300_000
    download("gutenberg", tmp_path, api_url=server.url, only="GRF_F_V_*", progress=False)
    assert ("/download/GRF_F_V_PRO_left.csv", "bytes=300000-") in server.requests
    assert (tmp_path / "GRF_F_V_PRO_left.csv").read_bytes() == files[2000]["GRF_F_V_PRO_left.csv"]


def test_download__server_that_ignores_range_restarts_cleanly(server, files, tmp_path):
    server.cut_after["GRF_F_V_PRO_left.csv"] = 100_000
    with pytest.raises(DownloadError):
        download("gutenberg", tmp_path, api_url=server.url, only="GRF_F_V_*", progress=False)
    server.honour_range = False
    download("gutenberg", tmp_path, api_url=server.url, only="GRF_F_V_*", progress=False)
    assert (tmp_path / "GRF_F_V_PRO_left.csv").read_bytes() == files[2000]["GRF_F_V_PRO_left.csv"]


def test_download__md5_mismatch_leaves_no_file(server, tmp_path):
    server.corrupt.add("GRF_metadata.csv")
    with pytest.raises(DownloadError, match="GRF_metadata.csv: md5 does not match"):
        download("gutenberg", tmp_path, api_url=server.url, only="GRF_metadata.csv", progress=False)
    assert not (tmp_path / "GRF_metadata.csv").exists()
    assert not (tmp_path / "GRF_metadata.csv.part").exists()


def test_download__unreachable_server_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    with pytest.raises(DownloadError, match="needs internet access"):
        download("gaitrec", tmp_path, api_url=f"http://127.0.0.1:{port}", progress=False)


def test_cli_download__error_exits_2_without_traceback(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run([sys.executable, "-m", "gaitsae", "download", "gaitrec", "--to", str(tmp_path),
                           "--api-url", f"http://127.0.0.1:{port}"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "needs internet access" in proc.stderr and "Traceback" not in proc.stderr
