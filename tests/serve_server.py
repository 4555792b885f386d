"""The assessment service in a process of its own, for the tests and the load benchmark: a
config writer, a starter that waits for ``/health``, keys made through the library, and a small
HTTP client (httpx) that submits and follows jobs. Only 127.0.0.1 is ever contacted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import tomli_w

__all__ = ["ServeProcess", "write_serve_config", "start_serve", "make_key", "Client", "serve_env"]


def serve_env() -> dict[str, str]:
    """This environment with ``src/`` on the path and one thread per process (two CPUs are shared)."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


@dataclass
class ServeProcess:
    url: str
    process: subprocess.Popen
    config: Path
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def write_serve_config(
    folder: Path, bundles: dict[str, dict[str, str]], catalogs: dict[str, str], **server: Any
) -> Path:
    """``folder/serve.toml``: SQLite and job folders in ``folder`` unless ``server`` says otherwise."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "server": {"data_dir": str(folder / "data"), "workers": 1, "heartbeat_s": 0.5, "stale_after_s": 3.0, **server},
        "quota": {"max_area_km2": 5.0, "max_days": 62, "max_concurrent": 4},
        "catalogs": catalogs,
        "bundles": bundles,
    }
    (folder / "serve.toml").write_text(tomli_w.dumps(doc))
    return folder / "serve.toml"


def start_serve(config: Path, port: int, timeout: float = 90.0) -> ServeProcess:
    """``landslide serve --config CONFIG --port PORT`` on 127.0.0.1; returns once ``/health`` answers."""
    log = config.with_name(f"serve-{port}-{time.time_ns()}.log")
    cmd = [
        sys.executable,
        "-m",
        "landslide_fusion.cli",
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
    ]
    proc = subprocess.Popen(cmd, env=serve_env(), stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    url = f"http://127.0.0.1:{port}"
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"landslide serve exited ({proc.returncode}): {log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return ServeProcess(url, proc, config, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"landslide serve did not answer on {url} within {timeout} s: {log.read_text()[-3000:]}")


def make_key(config: Path, name: str, **quota: Any) -> str:
    """A new key's token (library call: what ``landslide serve key create`` does)."""
    from dataclasses import replace

    from landslide_fusion.serve.config import load_serve_config
    from landslide_fusion.serve.keys import create_key
    from landslide_fusion.serve.store import JobStore

    cfg = load_serve_config(config, check_bundles=False)
    store = JobStore(cfg.database)
    try:
        return create_key(store, name, replace(cfg.quota, **quota))[1]
    finally:
        store.close()


class Client:
    """One key's view of the service."""

    def __init__(self, url: str, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)

    def submit(self, **inputs: Any) -> httpx.Response:
        return self.http.post("/processes/assess/execution", json={"inputs": inputs})

    def status(self, job_id: str) -> dict:
        r = self.http.get(f"/jobs/{job_id}")
        r.raise_for_status()
        return r.json()

    def wait(
        self, job_id: str, timeout: float = 120.0, until: tuple[str, ...] = ("successful", "failed", "dismissed")
    ) -> dict:
        t0 = time.time()
        while time.time() - t0 < timeout:
            s = self.status(job_id)
            if s["status"] in until:
                return s
            time.sleep(0.2)
        raise TimeoutError(f"job {job_id} still {s['status']} after {timeout} s: {s['message']}")
