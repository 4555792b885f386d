"""Where jobs run: a bounded pool of local worker processes, or a Dask distributed cluster.

:class:`LocalPool` (the default) runs each job in a process of its own, at most ``workers`` at a
time, started from a fork server that has imported the assess path once (:data:`PRELOAD`, at the
server's start: a job starts in milliseconds, not the seconds of importing PyTorch). A process
per job isolates jobs: one that crashes (a segfault, the kernel's OOM killer) fails with that
reason and nothing else; cancelling kills it. Each job process watches its server: when the
server dies (even by ``kill -9``) the pipe from it closes and the job process exits at once, so
no orphan keeps computing, or writing, a job that the next server will run again.

:class:`DaskPool` submits the same function to a Dask distributed scheduler
(``[server] dask_scheduler``), at most ``workers`` jobs at a time; the cluster's workers need the
package, the bundles' folders and the data folder at the same paths (shared storage).
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ConfigError
from .worker import run_job_safely

__all__ = ["Outcome", "Pool", "LocalPool", "DaskPool", "make_pool", "PRELOAD"]

#: Imported once by the fork server, started with the pool (a name that no longer exists is skipped).
PRELOAD = (
    "landslide_fusion.serve.worker",
    "landslide_fusion.serve.cogs",
    "landslide_fusion.assess",
    "landslide_fusion.acquire.fetch",
    "landslide_fusion.segmentation.inference.infer",
    "landslide_fusion.segmentation.inference.scene",
    "landslide_fusion.regions",
    "landslide_fusion.fusion.workflow",
    "landslide_fusion.riskmap",
    "rio_tiler.io",
)


@dataclass(frozen=True)
class Outcome:
    """How a job ended: ``ok`` with assess's ``summary``, or not with a one-line ``message``."""

    job_id: str
    ok: bool
    message: str
    summary: dict[str, Any] | None = None


class Pool(Protocol):
    """What the dispatcher needs of a pool."""

    def free(self) -> int: ...
    def submit(self, job_id: str, spec: dict[str, Any]) -> None: ...
    def cancel(self, job_id: str) -> None: ...
    def poll(self) -> list[Outcome]: ...
    def job_ids(self) -> list[str]: ...
    def close(self) -> None: ...


def _exit_with_server() -> None:
    """In a job process: exit as soon as the server process is gone (its pipe to us closes)."""
    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(70)

    threading.Thread(target=watch, daemon=True, name="exit-with-server").start()


def _child(spec: dict[str, Any], conn: Any) -> None:
    _exit_with_server()
    conn.send(run_job_safely(spec))
    conn.close()


def _outcome(job_id: str, result: tuple[str, Any]) -> Outcome:
    """The :class:`Outcome` of :func:`run_job_safely`'s ``(status, payload)``."""
    status, payload = result
    return Outcome(job_id, True, "", payload) if status == "ok" else Outcome(job_id, False, payload)


def _ended(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"the job's worker process was killed ({name}); the box may need more memory than the server has"
    return f"the job's worker process exited (code {code}) without a result"


class LocalPool:
    """At most ``workers`` job processes (see the module docstring); ``timeout_s`` bounds a job."""

    def __init__(self, workers: int, timeout_s: float) -> None:
        self.workers, self.timeout_s = workers, timeout_s
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(list(PRELOAD))
        self._jobs: dict[str, tuple[Any, Any, float]] = {}
        from multiprocessing import forkserver

        threading.Thread(target=forkserver.ensure_running, daemon=True, name="start-forkserver").start()

    def free(self) -> int:
        return self.workers - len(self._jobs)

    def job_ids(self) -> list[str]:
        return list(self._jobs)

    def submit(self, job_id: str, spec: dict[str, Any]) -> None:
        recv, send = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(target=_child, args=(spec, send), name=f"job-{job_id[:8]}", daemon=False)
        proc.start()
        send.close()
        self._jobs[job_id] = (proc, recv, time.monotonic())

    def _stop(self, job_id: str) -> None:
        proc, recv, _ = self._jobs.pop(job_id)
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        recv.close()

    def cancel(self, job_id: str) -> None:
        if job_id in self._jobs:
            self._stop(job_id)

    def poll(self) -> list[Outcome]:
        done = []
        for job_id, (proc, recv, t0) in list(self._jobs.items()):
            result = None
            if recv.poll():
                try:
                    result = recv.recv()
                except (EOFError, OSError):
                    result = None
            if result is not None:
                done.append(_outcome(job_id, result))
            elif not proc.is_alive():
                proc.join()
                done.append(Outcome(job_id, False, _ended(proc.exitcode)))
            elif time.monotonic() - t0 > self.timeout_s:
                done.append(Outcome(job_id, False, f"the job ran longer than {self.timeout_s:g} s and was stopped"))
            else:
                continue
            self._stop(job_id)
        return done

    def close(self) -> None:
        for job_id in list(self._jobs):
            self._stop(job_id)


class DaskPool:
    """Jobs as tasks of a Dask distributed scheduler at ``address`` (see the module docstring)."""

    def __init__(self, address: str, workers: int, timeout_s: float) -> None:
        from distributed import Client

        self.workers, self.timeout_s = workers, timeout_s
        try:
            self.client = Client(address, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise ConfigError(
                f"dask_scheduler {address!r} cannot be reached ({e}); start the scheduler or remove "
                "dask_scheduler to use the local worker pool"
            ) from None
        self._jobs: dict[str, tuple[Any, float]] = {}

    def free(self) -> int:
        return self.workers - len(self._jobs)

    def job_ids(self) -> list[str]:
        return list(self._jobs)

    def submit(self, job_id: str, spec: dict[str, Any]) -> None:
        fut = self.client.submit(run_job_safely, spec, key=f"assess-{job_id}-{time.time_ns()}", pure=False)
        self._jobs[job_id] = (fut, time.monotonic())

    def cancel(self, job_id: str) -> None:
        fut, _ = self._jobs.pop(job_id, (None, 0))
        if fut is not None:
            fut.cancel()

    def poll(self) -> list[Outcome]:
        done = []
        for job_id, (fut, t0) in list(self._jobs.items()):
            if fut.status == "finished":
                out = _outcome(job_id, fut.result())
            elif fut.status in ("error", "cancelled", "lost"):
                out = Outcome(
                    job_id,
                    False,
                    f"the Dask cluster lost the job ({fut.status}: {fut.exception()!r})"
                    if fut.status == "error"
                    else f"the Dask cluster lost the job ({fut.status})",
                )
            elif time.monotonic() - t0 > self.timeout_s:
                out = Outcome(job_id, False, f"the job ran longer than {self.timeout_s:g} s and was stopped")
            else:
                continue
            self.cancel(job_id)
            done.append(out)
        return done

    def close(self) -> None:
        for job_id in list(self._jobs):
            self.cancel(job_id)
        self.client.close()


def make_pool(workers: int, timeout_s: float, dask_scheduler: str = "") -> Pool:
    """A :class:`DaskPool` when ``dask_scheduler`` is set, else a :class:`LocalPool`."""
    if dask_scheduler:
        return DaskPool(dask_scheduler, workers, timeout_s)
    return LocalPool(workers, timeout_s)
