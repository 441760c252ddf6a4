"""The explorer's ASGI app (Starlette): read-only HTML pages, each backed by a JSON endpoint under /api.

Every path and query parameter is validated here, once: unknown run, stance, feature or subject
→ 404, malformed or out-of-range values → 400; under /api (or when the request's Accept asks for
JSON and not HTML) as JSON {"error": "..."}, else as a small HTML page with the message; only GET
exists. The search's CSV download is /api/runs/{run}/search.csv with the page's query.
Static files are a fixed list (plotly.min.js from the plotly package, our own JS and CSS): no
request can name a file.

    app = create_app([open_store("runs/topk")])
    uvicorn.run(app, host="127.0.0.1", port=8765)

stance_sections: optional functions f(store, stance_id) -> dict | None; each dict
{"title": str, "note": str, "rows": [{column: value}], "bars": {"labels": [...], "values": [...]}}
(every key but title optional) is shown as one more section of the stance page (e.g. a
clinical deviation profile).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from gaitsae.channels import SEX_CODES, SIDES
from gaitsae.errors import GaitsaeError
from gaitsae.explorer import clinical, payloads
from gaitsae.explorer.retrieval import LEAVE_OUT, MAX_K

HERE = Path(__file__).parent
MAX_TEXT = 100
MAX_LIMIT = 1000
MAX_CSV_ROWS = 200_000  # a search's CSV download holds every match up to this many
INTEGER = re.compile(r"[+-]?[0-9]{1,9}")  # ASCII digits only: int() also reads "٣"
TEXT = re.compile(r"[A-Za-z0-9_:.\- ]{1,100}")  # IDs and labels, e.g. gutenberg:12, K_F: no quotes, slashes or ;
NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")


def _static_files() -> dict[str, tuple[Path, str]]:
    import plotly

    return {
        "plotly.min.js": (Path(plotly.__file__).parent / "package_data" / "plotly.min.js", "text/javascript"),
        "explorer.js": (HERE / "static" / "explorer.js", "text/javascript"),
        "explorer.css": (HERE / "static" / "explorer.css", "text/css"),
    }


# -- validation ---------------------------------------------------------------------------------
def _bad(message: str, status: int = 400):
    raise HTTPException(status, message)


def _text(value: str, name: str) -> str:
    if not TEXT.fullmatch(value):
        _bad(f"{name}: up to {MAX_TEXT} letters, digits, spaces and _ : . -, got {value[:MAX_TEXT]!r}")
    return value


def _integer(value: str, name: str, lo: int, hi: int, status: int = 400) -> int:
    if not INTEGER.fullmatch(value or ""):
        _bad(f"{name} must be an integer, got {value[:MAX_TEXT]!r}")
    number = int(value)
    if not lo <= number <= hi:
        _bad(f"{name} must be from {lo} to {hi}, got {number}", status)
    return number


def _number(value: str, name: str) -> float:
    if len(value) > 40 or not NUMBER.fullmatch(value) or not math.isfinite(float(value)):
        _bad(f"{name} must be a finite number, got {value[:MAX_TEXT]!r}")
    return float(value)


def _choice(value: str, name: str, allowed) -> str:
    if value not in allowed:
        _bad(f"{name} must be one of {list(allowed)}, got {value[:MAX_TEXT]!r}")
    return value


class Explorer:
    """The served stores by run name and the request handlers over them."""

    def __init__(self, stores, stance_sections=()):
        self.stores = {}
        for store in stores:
            name = store.name
            i = 2
            while name in self.stores:  # two runs with the same folder name
                name, i = f"{store.name}-{i}", i + 1
            store.name = name
            self.stores[name] = store
        self.sections = tuple(stance_sections)
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(["html"]))
        self.static = _static_files()

    # -- lookups -----------------------------------------------------------------------------
    def store(self, request):
        name = request.path_params["run"]
        if name not in self.stores:
            _bad(f"unknown run {name[:MAX_TEXT]!r} (served: {', '.join(self.stores)})", 404)
        return self.stores[name]

    @staticmethod
    def latent(store, value: str) -> int:
        return _integer(value, "feature", 0, store.n_latents - 1, status=404)

    @staticmethod
    def stance_id(store, value: str) -> int:
        return _integer(value, "stance", 0, store.n_stances - 1, status=404)

    @staticmethod
    def subject(store, value: str) -> str:
        name = _text(value, "subject")
        if name not in store.by_subject:
            _bad(f"unknown subject {name!r}", 404)
        return name

    def others(self, store):
        return [s for s in self.stores.values() if s is not store]

    # -- pages ---------------------------------------------------------------------------------
    def page(self, page: str, title: str, run: str = "", item="") -> HTMLResponse:
        """The page shell; explorer.js fills it from the page's /api endpoint."""
        html = self.templates.get_template("page.html").render(page=page, title=title, run=run, item=item,
                                                               runs=list(self.stores))
        return HTMLResponse(html)

    async def overview_page(self, request):
        return self.page("overview", title="gait explorer")

    async def item_page(self, request):
        """/runs/{run}/features/{latent}, …/stances/{stance}, …/subjects/{subject}."""
        store = self.store(request)
        kinds = {"features": ("feature", self.latent), "stances": ("stance", self.stance_id),
                 "subjects": ("subject", self.subject)}
        if request.path_params["kind"] not in kinds:
            _bad("no such page", 404)
        page, check = kinds[request.path_params["kind"]]
        item = check(store, request.path_params["item"])
        return self.page(page, title=f"{page} {item} · {store.name}", run=store.name, item=item)

    async def search_page(self, request):
        store = self.store(request)
        return self.page("search", title=f"search · {store.name}", run=store.name, item="")

    async def static_file(self, request):
        name = request.path_params["name"]
        if name not in self.static:
            _bad(f"no static file {name[:MAX_TEXT]!r}", 404)
        path, media = self.static[name]
        return FileResponse(path, media_type=media, headers={"Cache-Control": "max-age=3600"})

    # -- JSON ------------------------------------------------------------------------------------
    def runs_api(self, request):
        return JSONResponse({"runs": [payloads.run_summary(s) for s in self.stores.values()]})

    def features_api(self, request):
        from gaitsae.models import KINDS  # lazily: the model stack (torch) loads only when asked

        kind = request.query_params.get("kind")
        if kind is not None and kind not in KINDS:
            _bad(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        return JSONResponse(payloads.features(self.store(request), kind))

    def feature_api(self, request):
        store = self.store(request)
        return JSONResponse(payloads.feature(store, self.latent(store, request.path_params["latent"]), self.others(store)))

    def stance_api(self, request):
        store = self.store(request)
        return JSONResponse(payloads.stance(store, self.stance_id(store, request.path_params["stance"]), self.sections))

    def akin_api(self, request):
        store = self.store(request)
        stance = self.stance_id(store, request.path_params["stance"])
        q = request.query_params
        k = _integer(q.get("k", "10"), "k", 1, MAX_K)
        leave_out = _choice(q.get("leave_out", "stance"), "leave_out", LEAVE_OUT)
        return JSONResponse(payloads.akin(store, stance, k, leave_out))

    def subject_api(self, request):
        store = self.store(request)
        return JSONResponse(payloads.subject(store, self.subject(store, request.path_params["subject"])))

    def search_api(self, request):
        store, filters, feature, limit = self.search_query(request, MAX_LIMIT, 100)
        return JSONResponse(payloads.search(store, filters, feature, limit))

    def search_csv(self, request):
        """Every match (up to MAX_CSV_ROWS) as a CSV download, in the order the page shows."""
        store, filters, feature, limit = self.search_query(request, MAX_CSV_ROWS, MAX_CSV_ROWS)
        found, _ = payloads.search_table(store, filters, feature, limit)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", store.name)
        return Response(found.to_csv(index=False), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="search-{name}.csv"'})

    def search_query(self, request, max_limit: int, default_limit: int):
        """(store, filters, feature, limit) of a search request, every value validated."""
        store = self.store(request)
        q = request.query_params
        unknown = [name for name in q if name not in payloads.SEARCH_FILTERS and name not in ("feature", "above", "limit")]
        if unknown:
            _bad(f"unknown search parameter {unknown[0][:MAX_TEXT]!r}")
        filters = {}
        for name in payloads.SEARCH_FILTERS:
            value = q.get(name, "")
            if value == "":
                continue
            if name == "trial":
                filters[name] = _integer(value, name, 0, 10 ** 9)
            elif name == "side":
                filters[name] = _choice(value, name, SIDES)
            elif name == "sex":
                filters[name] = _choice(value, name, tuple(SEX_CODES.values()))
            elif name.endswith(("_min", "_max")):
                filters[name] = _number(value, name)
            else:
                filters[name] = _text(value, name)
        feature = None
        if q.get("feature", "") != "":
            feature = (_integer(q["feature"], "feature", 0, store.n_latents - 1),
                       _number(q.get("above", "0") or "0", "above"))
        limit = _integer(q.get("limit", str(default_limit)), "limit", 1, max_limit)
        return store, filters, feature, limit


def wants_json(request) -> bool:
    """JSON errors for the API and for clients that ask for JSON (not a browser's page request)."""
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or ("application/json" in accept and "text/html" not in accept)


async def _error(request, exc):
    status = getattr(exc, "status_code", 400 if isinstance(exc, GaitsaeError) else 500)
    message = getattr(exc, "detail", None) or str(exc) or "error"
    if wants_json(request):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    ex = getattr(request.app.state, "explorer", None)
    runs = list(ex.stores) if ex is not None else []
    html = ERROR_PAGE.render(status=status, message=message, runs=runs)
    return HTMLResponse(html, status_code=status)


ERROR_PAGE = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
                         ).get_template("error.html")


def create_app(stores, stance_sections=()) -> Starlette:
    """The explorer over open stores (see gaitsae.explorer.store.open_store)."""
    ex = Explorer(stores, stance_sections)
    routes = [
        Route("/", ex.overview_page),
        Route("/runs/{run}/search", ex.search_page),
        Route("/runs/{run}/{kind}/{item}", ex.item_page),
        Route("/static/{name}", ex.static_file),
        Route("/api/runs", ex.runs_api),
        Route("/api/runs/{run}/features", ex.features_api),
        Route("/api/runs/{run}/features/{latent}", ex.feature_api),
        Route("/api/runs/{run}/stances/{stance}", ex.stance_api),
        Route("/api/runs/{run}/stances/{stance}/akin", ex.akin_api),
        Route("/api/runs/{run}/subjects/{subject}", ex.subject_api),
        Route("/api/runs/{run}/search", ex.search_api),
        Route("/api/runs/{run}/search.csv", ex.search_csv),
    ]
    routes += clinical.routes(ex)  # a subject's course, the stance page's what-if
    app = Starlette(routes=routes, exception_handlers={HTTPException: _error, GaitsaeError: _error})
    app.state.explorer = ex
    return app
