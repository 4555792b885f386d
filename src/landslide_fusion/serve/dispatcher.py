"""The loop that moves jobs: from the database's queue into the pool, and their outcomes back.

One thread per server process. Every ``tick``: collect finished jobs from the pool and record
them (``successful`` with the results folder, or ``failed`` with the reason); stop jobs that
their clients dismissed; claim accepted jobs while the pool has room; copy each running job's
last progress line into its status (progress: 5 when it starts, then 10 more per new line of
assess's progress, at most 90 until the results are in place); every ``heartbeat_s``, write the
heartbeat of the jobs this server runs and recover those of servers that are gone
(:meth:`JobStore.recover`). The loop never
dies of one job's error: a failure to start or record a job fails that job with the reason.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from .config import ServeConfig
from .pool import Outcome, Pool
from .store import Job, JobStore, is_job_id

__all__ = ["Dispatcher", "job_folder"]

log = logging.getLogger("landslide.serve")


def job_folder(data_dir: Path, job_id: str) -> Path:
    """``DATA/jobs/<id>``: ids are the server's own hex UUIDs, never a client's text."""
    if not is_job_id(job_id):
        raise ValueError(f"not a job id: {job_id!r}")
    return data_dir / "jobs" / job_id


def _last_line(path: Path, limit: int = 4096) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - limit))
            lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


class Dispatcher:
    """Runs the loop of the module docstring in a daemon thread (:meth:`start`, :meth:`stop`)."""

    def __init__(self, store: JobStore, cfg: ServeConfig, pool: Pool, owner: str, tick: float = 0.2) -> None:
        self.store, self.cfg, self.pool, self.owner, self.tick = store, cfg, pool, owner, tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="job-dispatcher", daemon=True)
        self._last_beat = 0.0
        self._notes: dict[str, tuple[str, int]] = {}

    def start(self) -> None:
        self.store.recover(self.cfg.server.stale_after_s, self.cfg.server.max_attempts, self.owner)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # noqa: BLE001  the database may be away for a moment; try again next tick
                log.exception("dispatcher step failed")
            self._stop.wait(self.tick)

    def step(self) -> None:
        """One pass of the loop (tests call it directly)."""
        for outcome in self.pool.poll():
            self._record(outcome)
        for job_id in self.store.dismissed_of(self.owner, self.pool.job_ids()):
            self.pool.cancel(job_id)
            shutil.rmtree(job_folder(self.cfg.data_dir, job_id), ignore_errors=True)
        while self.pool.free() > 0:
            job = self.store.claim(self.owner)
            if job is None:
                break
            self._start(job)
        self._progress()
        if time.monotonic() - self._last_beat > self.cfg.server.heartbeat_s:
            self._last_beat = time.monotonic()
            self.store.heartbeat(self.owner)
            self.store.recover(self.cfg.server.stale_after_s, self.cfg.server.max_attempts, self.owner)

    def _spec(self, job: Job, folder: Path) -> dict[str, Any]:
        x = job.inputs
        bundle = self.cfg.bundles.get(x["bundle"])
        if bundle is None:
            raise LookupError(f"bundle {x['bundle']!r} is no longer registered on this server")
        regions = None
        if x.get("regions") is not None:
            from ..io.atomic import write_json

            regions = write_json(folder / "input" / "regions.geojson", x["regions"])
        return {
            "job_dir": str(folder),
            "bbox": x["bbox"],
            "date": x["date"],
            "run": str(bundle.run),
            "tabular": str(bundle.tabular) if bundle.tabular else None,
            "fusion": str(bundle.fusion) if bundle.fusion else None,
            "regions": str(regions) if regions else None,
            "grid_m": x.get("grid_m"),
            "place": x.get("place"),
            "catalog": self.cfg.catalogs[x["catalog"]],
            "options": self.cfg.assess_options,
        }

    def _start(self, job: Job) -> None:
        folder = job_folder(self.cfg.data_dir, job.id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.pool.submit(job.id, self._spec(job, folder))
        except Exception as e:  # noqa: BLE001
            self.store.finish(job.id, self.owner, "failed", f"the job could not start: {e}")

    def _record(self, outcome: Outcome) -> None:
        self._notes.pop(outcome.job_id, None)
        if outcome.ok:
            s = outcome.summary or {}
            classes = ", ".join(f"{k} {v}" for k, v in (s.get("risk_classes") or {}).items())
            message = f"done: {s.get('regions', '?')} regions ({s.get('method', '?')} risk: {classes})"
            kept = self.store.finish(
                outcome.job_id, self.owner, "successful", message, f"jobs/{outcome.job_id}/results"
            )
        else:
            kept = self.store.finish(outcome.job_id, self.owner, "failed", outcome.message)
        if not kept:  # dismissed while it ran
            shutil.rmtree(job_folder(self.cfg.data_dir, outcome.job_id), ignore_errors=True)

    def _progress(self) -> None:
        for job_id in self.pool.job_ids():
            line = _last_line(job_folder(self.cfg.data_dir, job_id) / "log.txt")
            seen, n = self._notes.get(job_id, ("", 0))
            if line and line != seen:
                self._notes[job_id] = (line, n + 1)
                self.store.note(job_id, self.owner, line, min(90, 10 + 10 * n))
