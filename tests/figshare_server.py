"""A figshare-shaped HTTP server on loopback for the downloader tests.

Serves `/collections/<id>/articles?page=&page_size=` (paged), `/articles/<id>/files`, and
`/download/<name>` with optional Range support and an optional cut after N bytes, and records
every request it sees. Hostile modes, for the downloader's distrust: listed names, sizes and URLs
that differ from the truth, redirects, bodies without Content-Length, endless or repeated pages.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FigshareServer:
    def __init__(self, collection: int, articles: dict[int, dict[str, bytes]]):
        self.collection = collection
        self.articles = articles  # article id -> {file name: content}
        self.honour_range = True
        self.cut_after: dict[str, int] = {}  # file name -> bytes to send before dropping the connection
        self.corrupt: set[str] = set()  # names whose listed md5 is wrong
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        # Hostile modes (keyed by the file's real name):
        self.listed_name: dict[str, object] = {}  # the name the listing gives instead (e.g. "../x")
        self.listed_size: dict[str, object] = {}  # the size the listing gives instead
        self.listed_url: dict[str, str] = {}  # the download URL the listing gives instead (e.g. file://)
        self.redirect: dict[str, str] = {}  # /download/<name> answers 302 to this Location
        self.no_length: set[str] = set()  # bodies sent without Content-Length (read until close)
        self.pages: str = ""  # "endless": every page full of new articles; "repeat": always page 1
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                url = urlparse(self.path)
                parts = url.path.strip("/").split("/")
                if parts[:1] == ["collections"] and parts[2:] == ["articles"] and int(parts[1]) == server.collection:
                    q = parse_qs(url.query)
                    page, size = int(q.get("page", ["1"])[0]), int(q.get("page_size", ["10"])[0])
                    ids = sorted(server.articles)[(page - 1) * size: page * size]
                    if server.pages == "endless":
                        ids = [10**6 * page + i for i in range(size)]
                    elif server.pages == "repeat":
                        ids = sorted(server.articles)[:size]
                    return self._json([{"id": i, "title": f"article {i}"} for i in ids])
                if parts[:1] == ["articles"] and parts[2:] == ["files"]:
                    files = server.articles.get(int(parts[1]), {} if server.pages else None)
                    if files is None:
                        return self.send_error(404)
                    return self._json([{
                        "id": hash(name) % 10**6, "name": server.listed_name.get(name, name),
                        "size": server.listed_size.get(name, len(data)),
                        "computed_md5": ("0" * 32) if name in server.corrupt else hashlib.md5(data).hexdigest(),
                        "download_url": server.listed_url.get(name, f"http://127.0.0.1:{server.port}/download/{name}"),
                        "is_link_only": False,
                    } for name, data in files.items()])
                if parts[:1] == ["download"]:
                    return self._file(parts[1])
                self.send_error(404)

            def _json(self, obj):
                body = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _file(self, name):
                data = next((f[name] for f in server.articles.values() if name in f), None)
                if data is None:
                    return self.send_error(404)
                if name in server.redirect:
                    self.send_response(302)
                    self.send_header("Location", server.redirect[name])
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                start = 0
                rng = self.headers.get("Range")
                if rng and server.honour_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                if name in server.no_length:
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                cut = server.cut_after.pop(name, None)
                try:
                    if cut is not None:
                        self.wfile.write(body[:cut])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client stopped reading: its right
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
