"""The explorer's clinical pages: a subject's course (/runs/{run}/subjects/{subject}/course) and the
stance page's what-if sliders (/api/runs/{run}/stances/{stance}/whatif).

The deviations of a store's stances are computed once per store, on first use, with the same
functions as `gaitsae deviations` and `gaitsae course` (clinical/deviation.py cross_fit with the
default healthy reference, clinical/course.py): the page and the CLI give the same numbers.
Sliders redraw the curves in the browser from the feature directions sent here; only the index of
a changed stance is asked of the server (one profile of one vector, no encoding).
"""

from __future__ import annotations

import re
import threading

import numpy as np
from starlette.responses import JSONResponse
from starlette.routing import Route

from gaitsae.clinical import course as C
from gaitsae.clinical.kinds import feature_columns, feature_kinds
from gaitsae.errors import GaitsaeError
from gaitsae.explorer.payloads import clean, records, run_summary

MAX_CHANGES = 2000
CHANGE = re.compile(r"([+-]?\d{1,9}):([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?)")
_LOCK = threading.Lock()


class Clinic:
    """A store's deviation model and course inputs (None, with the reason, when the data has no
    healthy reference)."""

    def __init__(self, store):
        from gaitsae.clinical.deviation import cross_fit
        from gaitsae.clinical.reference import select_reference

        self.kinds = feature_kinds(store.sae(), store.n_latents)
        self.columns = feature_columns(self.kinds)
        self.reason = ""
        self.model = self.inputs = None
        try:
            is_ref = select_reference(store.stances)
            dev = cross_fit(store.latents, store.curves, store.channels, store.subjects, is_ref,
                            threshold=store.threshold, kinds=self.kinds)
        except GaitsaeError as exc:
            self.reason = str(exc)
            return
        self.model = dev.model
        ref = dev.model.reference
        self.inputs = C.CourseInputs(store.stances, dev.index, store.latents, store.arrays["directions"], self.kinds,
                                     self.columns, store.channels, is_ref, ref.band_sd, ref.location)
        self.stance_band = C.stance_band(self.inputs)


def clinic(store) -> Clinic:
    with _LOCK:
        if "clinic" not in store.cache:
            store.cache["clinic"] = Clinic(store)
        return store.cache["clinic"]


def course(store, subject: str) -> dict:
    cl = clinic(store)
    out = {"run": run_summary(store), "subject": subject}
    if cl.inputs is None:
        return clean({**out, "available": False, "note": f"no deviation index: {cl.reason}"})
    c = C.course(cl.inputs, subject)
    sessions = c.sessions.assign(session_date=c.sessions["session_date"].astype(str)) \
        if "session_date" in c.sessions else c.sessions
    return clean({**out, "available": True, "person": c.person, "band": list(c.band), "note": c.note,
                  "sessions": records(sessions), "sides": records(c.sides), "features": records(c.features)})


def _index(cl: Clinic, latents) -> np.ndarray:
    from gaitsae.clinical.whatif import index_of

    return index_of(cl.model, latents)


def _slider_range(row: dict, value: float, kind: str) -> tuple[float, float]:
    """From the feature's activations in the store: sparse 0 … its largest; scaffold q10 … q99 widened."""
    top = float(row.get("max_activation") or 0.0)
    if kind == "sparse":
        lo, hi = min(0.0, value, -top if (row.get("q10") or 0) < 0 else 0.0), max(value, top, 1e-6)
    else:
        q10, q99 = float(row.get("q10") or 0.0), float(row.get("q99") or 0.0)
        pad = 0.5 * max(q99 - q10, 1e-6)
        lo, hi = min(value, q10 - pad), max(value, q99 + pad)
    return lo, hi


def whatif(store, stance: int, changes: dict[int, float] | None = None) -> dict:
    """Without changes: everything the sliders need (directions, ranges, the recorded curves and
    reconstruction, "toward healthy"). With changes: the index the changed stance would get."""
    cl = clinic(store)
    latents = np.asarray(store.latents[stance], dtype=np.float64)
    if changes is not None:
        if cl.model is None:
            return {"index": None, "note": cl.reason}
        changed = latents.copy()
        for j, v in changes.items():
            changed[j] = v
        return clean({"index": float(_index(cl, changed)[0])})
    from gaitsae.clinical.whatif import changes_toward_healthy

    sae = store.sae()
    curves = np.asarray(store.curves[stance], dtype=np.float32)
    rows = store.cache.get("feature_rows") or records(store.features)
    directions = store.arrays["directions"]
    active = set(store.active(stance).tolist())
    shown = [j for j in range(store.n_latents) if cl.kinds[j] == "scaffold" or (j in active)]
    sliders = []
    for j in sorted(shown, key=lambda j: (cl.kinds[j] != "scaffold", -abs(latents[j]))):
        lo, hi = _slider_range(rows[j], float(latents[j]), cl.kinds[j])
        sliders.append({"latent": j, "kind": cl.kinds[j], "column": cl.columns[j], "value": float(latents[j]),
                        "min": lo, "max": hi, "direction": directions[j]})
    out = {"run": run_summary(store), "stance": stance, "curves": curves,
           "reconstruction": sae.inverse_transform(latents[None].astype(np.float32))[0], "sliders": sliders}
    if cl.model is None:
        return clean({**out, "index": None, "note": f"no deviation index: {cl.reason}"})
    healthy = changes_toward_healthy(latents, cl.model, cl.kinds)
    delta = np.zeros(store.n_latents)
    for j, v in healthy.items():
        delta[j] = v - latents[j]
    shift = np.tensordot(delta, directions, axes=1)  # exact: the decoder is affine (GaitSAE.what_if)
    changed = latents + delta
    index, healthy_index = _index(cl, np.stack([latents, changed]))
    return clean({**out, "index": float(index), "band": list(cl.stance_band),
                  "toward_healthy": {"changes": [{"latent": j, "column": cl.columns[j], "from": float(latents[j]),
                                                  "to": v} for j, v in sorted(healthy.items())],
                                     "curves": curves + shift, "index": float(healthy_index)}})


def parse_changes(text: str, n_latents: int) -> dict[int, float]:
    """"3:1.5,7:0" → {3: 1.5, 7: 0.0}; anything else is a 400."""
    from starlette.exceptions import HTTPException

    parts = [p for p in text.split(",") if p]
    if len(parts) > MAX_CHANGES or len(text) > 40 * MAX_CHANGES:
        raise HTTPException(400, f"set: at most {MAX_CHANGES} changes")
    out = {}
    for p in parts:
        m = CHANGE.fullmatch(p)
        if not m or not 0 <= int(m.group(1)) < n_latents or not np.isfinite(float(m.group(2))):
            raise HTTPException(400, f"set: FEATURE:VALUE pairs with FEATURE 0 … {n_latents - 1} and a finite "
                                     f"VALUE, got {p[:100]!r}")
        out[int(m.group(1))] = float(m.group(2))
    return out


def routes(ex) -> list[Route]:
    """The course page and the what-if endpoint, over the app's Explorer `ex` (its lookups validate)."""

    async def course_page(request):
        store = ex.store(request)
        subject = ex.subject(store, request.path_params["subject"])
        return ex.page("course", title=f"course of {subject} · {store.name}", run=store.name, item=subject)

    def course_api(request):
        store = ex.store(request)
        return JSONResponse(course(store, ex.subject(store, request.path_params["subject"])))

    def whatif_api(request):
        store = ex.store(request)
        stance = ex.stance_id(store, request.path_params["stance"])
        q = request.query_params
        unknown = [k for k in q if k != "set"]
        if unknown:
            from starlette.exceptions import HTTPException

            raise HTTPException(400, f"unknown parameter {unknown[0][:100]!r}")
        changes = parse_changes(q["set"], store.n_latents) if "set" in q else None
        return JSONResponse(whatif(store, stance, changes))

    return [Route("/runs/{run}/subjects/{subject}/course", course_page),
            Route("/api/runs/{run}/subjects/{subject}/course", course_api),
            Route("/api/runs/{run}/stances/{stance}/whatif", whatif_api)]
