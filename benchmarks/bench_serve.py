"""``landslide serve`` under load, and through ``kill -9``, on 127.0.0.1 only.

    python benchmarks/bench_serve.py [--clients 8] [--seconds 20] [--jobs 12] [--work DIR]

Sets up what the tests use: a tiny run (1 epoch on generated patches), the local STAC API over
generated tiles, and the service (uvicorn, SQLite, 2 local worker processes, a queue of 4), then:

* **load**: ``--clients`` threads poll job statuses (``GET /jobs/{id}``) as fast as they are
  answered, while one submitter sends ``--jobs`` distinct requests (grid sizes differ) as fast as
  it can, then keeps polling. Bounded: ``--seconds`` of polling, at most 20,000 status calls.
  Prints p50/p95/p99 latency of status calls under load against the same calls on the idle server
  (ratio), their throughput, and how submissions were answered (201 accepted, 503 queue full,
  429 key busy): a full queue refuses rather than accepting what it cannot run.
* **kill**: a fresh server gets ``--jobs`` requests, is killed with SIGKILL while two run, and is
  restarted; prints how every accepted job ended (successful / failed with its reason / still
  running) and the seconds from the restart until none was running or waiting.

Figures depend on the machine: re-measure on a quiet one. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' catalog, server and client helpers

from tests.serve_server import Client, make_key, start_serve, write_serve_config  # noqa: E402
from tests.stac_catalog import EARTH_SEARCH_KEYS, build_catalog, free_port, generated_tiles, start_server  # noqa: E402
from tests.test_stac_fetch import generated_box  # noqa: E402

DATE = "2024-08-01/2024-08-31"
BOX = [float(v) for v in generated_box().split(",")]
MAX_CALLS = 20_000


def _tiny_run(work: Path) -> Path:
    from landslide_fusion.config import load_config
    from landslide_fusion.segmentation import SegmentConfig, train_segmentation
    from landslide_fusion.synth import write_synth_l4s
    from tests.conftest import TINY

    run = work / "run"
    if not (run / "run.json").is_file():
        write_synth_l4s(work / "l4s", n=12, size=32, seed=1)
        train_segmentation(
            load_config(SegmentConfig, None, [f'data.root="{work / "l4s"}"', *TINY]), run, progress=False
        )
    return run


def _percentiles(ms: list[float]) -> dict[str, float]:
    q = np.percentile(ms, [50, 95, 99]) if ms else [float("nan")] * 3
    return {
        "p50_ms": round(float(q[0]), 2),
        "p95_ms": round(float(q[1]), 2),
        "p99_ms": round(float(q[2]), 2),
        "calls": len(ms),
    }


def _poll(client: Client, ids: list[str], stop: threading.Event, out: list[float], codes: list[int]) -> None:
    i = 0
    while not stop.is_set() and len(out) < MAX_CALLS:
        if not ids:
            time.sleep(0.01)
            continue
        t0 = time.perf_counter()
        r = client.http.get(f"/jobs/{ids[i % len(ids)]}")
        out.append((time.perf_counter() - t0) * 1000)
        codes.append(r.status_code)
        i += 1


def load(url: str, config: Path, clients: int, seconds: float, jobs: int) -> dict:
    token = make_key(config, "load", max_concurrent=100)
    submitter = Client(url, token)
    first = submitter.submit(bbox=BOX, date=DATE, bundle="tiny", grid_m=100).json()["jobID"]
    submitter.wait(first)
    idle: list[float] = []
    _poll_n(Client(url, token), first, 300, idle)
    ids = [first]
    stop = threading.Event()
    lat: list[float] = []
    codes: list[int] = []
    pollers = [threading.Thread(target=_poll, args=(Client(url, token), ids, stop, lat, codes)) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in pollers:
        t.start()
    answers: dict[str, int] = {}
    for i in range(jobs):
        r = submitter.submit(bbox=BOX, date=DATE, bundle="tiny", grid_m=110 + 10 * i)
        answers[str(r.status_code)] = answers.get(str(r.status_code), 0) + 1
        if r.status_code == 201:
            ids.append(r.json()["jobID"])
    stop.wait(max(0.0, seconds - (time.perf_counter() - t0)))
    stop.set()
    for t in pollers:
        t.join()
    elapsed = time.perf_counter() - t0
    states = [submitter.status(j)["status"] for j in ids[1:]]
    for j in ids[1:]:
        submitter.http.delete(f"/jobs/{j}")
    under = _percentiles(lat)
    ref = _percentiles(idle)
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "status_calls_per_s": round(len(lat) / elapsed, 1),
        "status_under_load": under,
        "status_idle": ref,
        "p50_ratio_load_over_idle": round(under["p50_ms"] / ref["p50_ms"], 2),
        "non_200_status_calls": sum(c != 200 for c in codes),
        "submissions": answers,
        "jobs_finished_during_load": sum(s in ("successful", "failed") for s in states),
    }


def _poll_n(client: Client, job: str, n: int, out: list[float]) -> None:
    for _ in range(n):
        t0 = time.perf_counter()
        client.http.get(f"/jobs/{job}")
        out.append((time.perf_counter() - t0) * 1000)


def kill(work: Path, stac_url: str, run: Path, jobs: int) -> dict:
    cfg = write_serve_config(work / "kill", {"tiny": {"run": str(run)}}, {"local": stac_url}, workers=2, queue=jobs)
    server = start_serve(cfg, free_port())
    token = make_key(cfg, "kill", max_concurrent=jobs)
    c = Client(server.url, token)
    ids = [c.submit(bbox=BOX, date=DATE, bundle="tiny", grid_m=110 + 10 * i).json()["jobID"] for i in range(jobs)]
    while sum(c.status(j)["status"] == "running" for j in ids) < 2:
        time.sleep(0.05)
    time.sleep(np.random.default_rng(0).uniform(0.2, 1.0))
    before = {s: n for s, n in zip(*np.unique([c.status(j)["status"] for j in ids], return_counts=True))}
    server.kill9()
    t0 = time.perf_counter()
    again = start_serve(cfg, free_port())
    c = Client(again.url, token)
    try:
        while any(c.status(j)["status"] in ("accepted", "running") for j in ids):
            time.sleep(0.2)
        drained = time.perf_counter() - t0
        final = [c.status(j) for j in ids]
    finally:
        again.stop()
    ended = {s: sum(f["status"] == s for f in final) for s in ("successful", "failed", "running", "accepted")}
    return {
        "jobs": jobs,
        "at_kill": {k: int(v) for k, v in before.items()},
        "after_restart": ended,
        "failed_reasons": sorted({f["message"] for f in final if f["status"] == "failed"}),
        "seconds_restart_to_drained": round(drained, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--jobs", type=int, default=12)
    ap.add_argument("--work", type=Path, default=None)
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="bench-serve-"))
    run = _tiny_run(work)
    port = free_port()
    tiles, dem = generated_tiles()
    stac = start_server(build_catalog(work / "stac", f"http://127.0.0.1:{port}", tiles, dem, EARTH_SEARCH_KEYS), port)
    try:
        cfg = write_serve_config(work / "load", {"tiny": {"run": str(run)}}, {"local": stac.url}, workers=2, queue=4)
        server = start_serve(cfg, free_port())
        try:
            doc = {"load": load(server.url, cfg, a.clients, a.seconds, a.jobs)}
        finally:
            server.stop()
        doc["kill"] = kill(work, stac.url, run, min(a.jobs, 6))
    finally:
        stac.stop()
    doc["note"] = "one machine, loopback only; re-measure on a quiet machine"
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
