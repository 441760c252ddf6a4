"""The gait explorer: retrieval quality of akin gaits, and speed at GaitRec size.

    python benchmarks/explorer.py quality RUN [--data DIR]
    python benchmarks/explorer.py speed RUN [--data DIR] [--requests 1600] [--clients 8]

quality: for every test-split stance (subjects the model never saw), its 10 nearest stances by
cosine among the other test stances, leaving out its own trial (both sides): the share from
the same subject (person re-identification) and, where the data has classes, of the same class
(HC, H, K, A, C), also among the 10 nearest of other subjects only. For the SAE's latents, PCA
of the same dimension (fitted on the run's train split) and the raw scaled coefficients the
models see. Chance: the share a random pick of other stances would give.

speed: store open time; neighbour query p50/p99 (gaitsae.explorer.retrieval.neighbours, k = 10,
over 2,000 random stances); then `gaitsae serve RUN` in a subprocess on 127.0.0.1 and a bounded
load test: `--clients` threads, `--requests` requests in all, a fixed random mix of feature
page, stance page and akin JSON plus the HTML shells; p50/p99 per kind; any error fails.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd

from gaitsae.estimator import GaitSAE
from gaitsae.explorer.retrieval import neighbours
from gaitsae.explorer.store import open_store

K = 10


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, n, out=np.zeros_like(x), where=n > 0)


def shares(vectors: np.ndarray, subject: np.ndarray, trial: np.ndarray, label: np.ndarray | None) -> dict:
    """Mean share of each stance's K nearest (cosine, own trial left out) with its subject and label;
    with labels also the share of the same label among the K nearest of other subjects."""
    unit = _unit(vectors)
    found = {"same_subject": [], "same_class": [], "same_class_other_subjects": []}
    for start in range(0, len(unit), 1024):
        stop = min(start + 1024, len(unit))
        sims = unit[start:stop] @ unit.T
        sims[trial[start:stop, None] == trial[None, :]] = -np.inf
        nn = np.argpartition(-sims, K, axis=1)[:, :K]
        found["same_subject"].append((subject[nn] == subject[start:stop, None]).mean(1))
        if label is not None:
            found["same_class"].append((label[nn] == label[start:stop, None]).mean(1))
            sims[subject[start:stop, None] == subject[None, :]] = -np.inf
            nn = np.argpartition(-sims, K, axis=1)[:, :K]
            found["same_class_other_subjects"].append((label[nn] == label[start:stop, None]).mean(1))
    return {k: float(np.concatenate(v).mean()) for k, v in found.items() if v}


def chance(values: np.ndarray, trial: np.ndarray) -> float:
    """Share of same-`values` stances among the stances outside one's own `trial` group, averaged over
    stances (`trial` may be subjects: a subject lies within one class)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    _, t_inverse, t_counts = np.unique(trial, return_inverse=True, return_counts=True)
    same = counts[inverse] - t_counts[t_inverse]  # each group lies within one value
    return float((same / (len(values) - t_counts[t_inverse])).mean())


def quality(args) -> None:
    from sklearn.decomposition import PCA

    store = open_store(args.run, args.data)
    est = GaitSAE.load(args.run, progress=False)
    test = store.stances["split"].eq("test").to_numpy()
    train = store.stances["split"].eq("train").to_numpy()
    curves = np.asarray(store.curves)
    coefficients = est.transform_.transform(curves)
    pca = PCA(n_components=store.n_latents, random_state=0).fit(coefficients[train])
    s = store.stances[test]
    # integer codes: comparing codes, not strings, keeps the 45k × 45k neighbour masks cheap
    subject = pd.factorize(s["subject"])[0]
    trial = pd.factorize(s["subject"] + "/" + s["session"] + "/" + s["trial_id"].astype(str))[0]
    label = pd.factorize(s["class_label"])[0] if "class_label" in s and s["class_label"].nunique() > 1 else None
    print(f"{args.run}: {test.sum()} test stances of {len(set(subject))} subjects"
          f"{' (SYNTHETIC phantom)' if store.meta['synthetic'] else ''}; {K} nearest by cosine, own trial left out")
    print(f"chance: same subject {chance(subject, trial):.3f}"
          + (f", same class {chance(label, trial):.3f}, same class among other subjects "
             f"{chance(label, subject):.3f}" if label is not None else ""))
    for name, vectors in (("SAE latents", store.latents[test]), (f"PCA-{store.n_latents}", pca.transform(coefficients[test])),
                          (f"raw scaled coefficients ({coefficients.shape[1]})", coefficients[test])):
        r = shares(vectors, subject, trial, label)
        print(f"{name:36s} same subject {r['same_subject']:.3f}"
              + (f"  same class {r['same_class']:.3f}  same class, other subjects "
                 f"{r['same_class_other_subjects']:.3f}" if "same_class" in r else ""))


def _pct(values) -> str:
    v = np.asarray(values) * 1000
    return f"p50 {np.percentile(v, 50):7.2f} ms  p99 {np.percentile(v, 99):7.2f} ms  (n={len(v)})"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to state cost per request apart from contention."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def speed(args) -> None:
    import httpx

    start = time.perf_counter()
    store = open_store(args.run, args.data)
    print(f"open store: {time.perf_counter() - start:.2f} s ({store.n_stances} stances × {store.n_latents} latents)")
    rng = np.random.default_rng(0)
    times, cpu = [], []
    for stance in rng.integers(0, store.n_stances, 2000):
        t, c = time.perf_counter(), time.process_time()
        neighbours(store, int(stance), K)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(f"neighbour query (k={K}, Python), wall: {_pct(times)}")
    print(f"neighbour query (k={K}, Python), CPU:  {_pct(cpu)}")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    latents_n, stances_n = store.n_latents, store.n_stances
    subjects = store.stances["subject"].unique()
    patients = store.stances.loc[store.stances["class_label"].ne("HC"), "subject"].unique() \
        if "class_label" in store.stances else subjects
    patients = patients if len(patients) else subjects
    del store

    port = _free_port()
    cmd = [sys.executable, "-m", "gaitsae", "serve", args.run, "--port", str(port)] + (["--data", args.data] if args.data else [])
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    base = f"http://127.0.0.1:{port}"
    run = os.path.basename(os.path.normpath(args.run))
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                httpx.get(base + "/api/runs", timeout=2)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start: {server.stdout.read()}")
                time.sleep(0.5)
        kinds = {
            "feature JSON": lambda: f"/api/runs/{run}/features/{rng.integers(latents_n)}",
            "stance JSON": lambda: f"/api/runs/{run}/stances/{rng.integers(stances_n)}",
            "akin JSON (k=10)": lambda: f"/api/runs/{run}/stances/{rng.integers(stances_n)}/akin?k=10",
            "subject JSON": lambda: f"/api/runs/{run}/subjects/{rng.choice(subjects)}",
            "feature page HTML": lambda: f"/runs/{run}/features/{rng.integers(latents_n)}",
            "stance page HTML": lambda: f"/runs/{run}/stances/{rng.integers(stances_n)}",
            "course JSON": lambda: f"/api/runs/{run}/subjects/{rng.choice(patients)}/course",
            "what-if JSON": lambda: f"/api/runs/{run}/stances/{rng.integers(stances_n)}/whatif",
        }
        names = list(kinds)
        plan = [(names[i % len(names)], kinds[names[i % len(names)]]()) for i in range(args.requests)]
        order = rng.permutation(len(plan))
        plan = [plan[i] for i in order]
        results = {name: [] for name in names}
        errors = []
        lock = threading.Lock()

        def client(part):
            with httpx.Client(base_url=base, timeout=30) as c:
                for name, url in part:
                    t = time.perf_counter()
                    r = c.get(url)
                    dt = time.perf_counter() - t
                    with lock:
                        (results[name].append(dt) if r.status_code == 200 else errors.append((url, r.status_code)))

        threads = [threading.Thread(target=client, args=(plan[i::args.clients],)) for i in range(args.clients)]
        cpu = _cpu_seconds(server.pid)
        wall = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - wall
        cpu = _cpu_seconds(server.pid) - cpu
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"load: {args.clients} concurrent clients, {args.requests} requests in {wall:.1f} s "
              f"({args.requests / wall:.0f} req/s), errors: {len(errors)}; server CPU {1000 * cpu / args.requests:.1f} ms "
              f"per request (all kinds)")
        for name in names:
            print(f"  {name:24s} {_pct(results[name])}")
        if errors:
            raise SystemExit(f"{len(errors)} errors, e.g. {errors[:3]}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    for name in ("quality", "speed"):
        p = sub.add_parser(name)
        p.add_argument("run")
        p.add_argument("--data", default=None)
        if name == "speed":
            p.add_argument("--requests", type=int, default=1600)
            p.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    quality(args) if args.what == "quality" else speed(args)


if __name__ == "__main__":
    main()
