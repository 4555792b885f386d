"""Where the service's jobs run: the local pool (a job process killed, a job over its time) and a
Dask distributed cluster (the same job function, its failure reported the same way)."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from landslide_fusion.serve.pool import DaskPool, LocalPool, Outcome
from tests.test_stac_fetch import generated_box


@pytest.fixture
def silent_catalog():
    """A TCP port on 127.0.0.1 that accepts connections and never answers: a job searching it hangs."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    yield f"http://127.0.0.1:{s.getsockname()[1]}"
    s.close()


def _spec(tmp_path, run, catalog: str) -> dict:
    (tmp_path / "job").mkdir(exist_ok=True)
    return {
        "job_dir": str(tmp_path / "job"),
        "bbox": generated_box(),
        "date": "2024-08-10",
        "run": str(run),
        "tabular": None,
        "fusion": None,
        "regions": None,
        "grid_m": 100.0,
        "place": None,
        "catalog": catalog,
        "options": {},
    }


def _wait(pool, timeout: float = 120.0) -> list[Outcome]:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if done := pool.poll():
            return done
        time.sleep(0.1)
    raise TimeoutError("no outcome")


@pytest.mark.slow  # a fork server of its own (seconds of imports); a killed job is tested over HTTP too
def test_a_killed_job_process_fails_its_job_and_a_slow_one_is_stopped(tiny_run, silent_catalog, tmp_path):
    pool = LocalPool(workers=2, timeout_s=3.0)
    try:
        (tmp_path / "a").mkdir()
        pool.submit("a" * 32, _spec(tmp_path / "a", tiny_run, silent_catalog))
        assert pool.free() == 1
        proc = pool._jobs["a" * 32][0]
        os.kill(proc.pid, signal.SIGKILL)
        [out] = _wait(pool)
        assert not out.ok and "killed (SIGKILL)" in out.message and pool.free() == 2
        (tmp_path / "b").mkdir()
        pool.submit("b" * 32, _spec(tmp_path / "b", tiny_run, silent_catalog))
        [out] = _wait(pool)
        assert not out.ok and "ran longer than 3 s" in out.message
        assert not any(os.path.exists(f"/proc/{p.pid}") and p.is_alive() for p in [proc])
    finally:
        pool.close()


def test_dask_cluster_runs_the_job_function(tiny_run, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        pool = DaskPool(cluster.scheduler_address, workers=1, timeout_s=120)
        try:
            pool.submit("c" * 32, _spec(tmp_path, tiny_run, "http://127.0.0.1:9"))
            assert pool.free() == 0
            [out] = _wait(pool)
        finally:
            pool.close()
    assert not out.ok and "cannot be reached" in out.message and out.job_id == "c" * 32
