"""`gaitsae download` against a hostile figshare on loopback: nothing it sends is trusted.

Every case goes through the CLI as a user would meet it: exit 2, one line on stderr, and
nothing written outside --to (nor anything half-written inside it).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from gaitsae.cli import main
from gaitsae.data import download as dl
from gaitsae.outdir import MARKER
from tests.figshare_server import FigshareServer

GUTENBERG = dl.COLLECTIONS["gutenberg"]
SMALL = b"SUBJECT_ID,SESSION_ID\r\n1,1\r\n"
BIG = b"0123456789" * 3_000_000  # 30 MB


@pytest.fixture
def files():
    return {1: {"GRF_metadata.csv": SMALL}, 2: {"GRF_F_V_PRO_left.csv": BIG}, 3: {"GRF_walking_speed.csv": SMALL},
            4: {"GRF_F_V_PRO_right.csv": SMALL}}


@pytest.fixture
def server(files, monkeypatch):
    monkeypatch.setattr(dl, "PAGE_SIZE", 3)
    with FigshareServer(GUTENBERG, files) as srv:
        yield srv


def _download(server, to, capsys, *extra) -> str:
    """Run the CLI; it must fail with exit 2 and one error line (after any progress bars), returned."""
    code = main(["download", "gutenberg", "--to", str(to), "--api-url", server.url, *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1 and err.endswith(errors[0]) and "Traceback" not in err, err
    return errors[0]


def _written(root) -> list[str]:
    """Downloaded files (not gaitsae's ownership marker)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != MARKER)


@pytest.mark.parametrize("name", ["../evil.csv", "../../evil.csv", "ABSOLUTE", "", ".", "..", "sub/evil.csv",
                                  "sub\\evil.csv", ".hidden.csv", "nul\x00.csv", 42])
def test_download__unsafe_listed_name_is_refused_and_nothing_written(server, tmp_path, capsys, name):
    to = tmp_path / "to"
    server.listed_name["GRF_metadata.csv"] = str(tmp_path / "evil.csv") if name == "ABSOLUTE" else name
    err = _download(server, to, capsys)
    assert "not a plain file name inside" in err
    assert _written(tmp_path) == []  # neither inside --to nor beside it
    assert not [p for p, _ in server.requests if p.startswith("/download/")]  # refused before any fetch


def test_download__file_url_in_listing_is_refused(server, tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    server.listed_url["GRF_metadata.csv"] = secret.as_uri()
    err = _download(server, tmp_path / "to", capsys)
    assert "is not an http(s) URL" in err and "file://" in err
    assert _written(tmp_path / "to") == []


@pytest.mark.parametrize("scheme", ["file", "ftp", "data"])
def test_download__redirect_to_another_scheme_is_refused(server, tmp_path, capsys, scheme):
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    location = {"file": secret.as_uri(), "ftp": "ftp://127.0.0.1/x", "data": "data:,private"}[scheme]
    server.redirect["GRF_metadata.csv"] = location
    err = _download(server, tmp_path / "to", capsys, "--only", "GRF_metadata.csv")
    assert "only http(s) URLs are followed" in err
    assert _written(tmp_path / "to") == []


def test_download__redirect_to_http_is_followed(server, tmp_path, capsys):
    server.redirect["GRF_metadata.csv"] = f"{server.url}/download/GRF_walking_speed.csv"  # same bytes
    assert main(["download", "gutenberg", "--to", str(tmp_path), "--api-url", server.url,
                 "--only", "GRF_metadata.csv"]) == 0
    assert (tmp_path / "GRF_metadata.csv").read_bytes() == SMALL


@pytest.mark.parametrize("length", ["sent", "absent"])
def test_download__body_longer_than_listed_is_never_read_past_the_size(server, tmp_path, capsys, length):
    server.listed_size["GRF_F_V_PRO_left.csv"] = 100
    if length == "absent":
        server.no_length.add("GRF_F_V_PRO_left.csv")
    err = _download(server, tmp_path, capsys, "--only", "GRF_F_V_PRO_left.csv")
    assert "more than the listed 100" in err
    assert all((tmp_path / f).stat().st_size <= 100 for f in _written(tmp_path))


@pytest.mark.parametrize("size", [dl.MAX_FILE_BYTES + 1, -1, "100", 1.5, None])
def test_download__implausible_listed_size_is_refused(server, tmp_path, capsys, size):
    server.listed_size["GRF_metadata.csv"] = size
    err = _download(server, tmp_path, capsys)
    assert "lists size" in err and "expected 0 to" in err
    assert _written(tmp_path) == []


def test_download__endless_paging_stops_at_the_bound(server, tmp_path, capsys):
    server.pages = "endless"
    err = _download(server, tmp_path, capsys)
    assert f"past {dl.MAX_PAGES} pages" in err
    assert len([p for p, _ in server.requests if "/articles?" in p]) == dl.MAX_PAGES


def test_download__a_repeated_page_ends_the_listing(server, files, tmp_path, capsys):
    server.pages = "repeat"
    assert main(["download", "gutenberg", "--to", str(tmp_path), "--api-url", server.url]) == 0
    assert len([p for p, _ in server.requests if "/articles?" in p]) == 2
    assert _written(tmp_path) == sorted(n for a in sorted(files)[:3] for n in files[a])


def test_download__a_name_listed_twice_is_refused(server, tmp_path, capsys):
    server.listed_name["GRF_walking_speed.csv"] = "GRF_metadata.csv"
    err = _download(server, tmp_path, capsys)
    assert "'GRF_metadata.csv' more than once" in err
    assert _written(tmp_path) == []


def test_download__api_url_must_be_http(tmp_path, capsys):
    code = main(["download", "gaitrec", "--to", str(tmp_path), "--api-url", tmp_path.as_uri()])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "is not an http(s) URL" in err


def test_download__oversized_listing_answer_is_refused(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(dl, "MAX_JSON_BYTES", 50)  # one page of three articles is larger than this
    err = _download(server, tmp_path, capsys)
    assert "answer larger than" in err


def test_cli_download__dotdot_name_in_a_subprocess_has_no_traceback(server, tmp_path):
    server.listed_name["GRF_metadata.csv"] = ".."
    proc = subprocess.run([sys.executable, "-m", "gaitsae", "download", "gutenberg", "--to", str(tmp_path / "to"),
                           "--api-url", server.url], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "not a plain file name" in proc.stderr


def test_download__to_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code = main(["download", "gaitrec", "--to", str(tmp_path / "file"), "--api-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "cannot use it as a directory" in err
