"""Jobs and API keys in a real database: SQLite by default, PostgreSQL by URL.

One schema (SQLAlchemy Core, the same statements on both): ``keys`` (hashed tokens and quotas)
and ``jobs`` (inputs, state, message, owner, heartbeat, attempts, result folder). States are
those of OGC API - Processes: ``accepted``, ``running``, ``successful``, ``failed``,
``dismissed``.

* **Admission is one transaction** holding the database's write lock (SQLite ``BEGIN
  IMMEDIATE``; PostgreSQL ``LOCK TABLE jobs IN SHARE ROW EXCLUSIVE MODE``, which admissions hold
  one at a time while reads go on), so the key's concurrent-job count and the queue's length that
  it checks are still true when the job is inserted, whichever server process inserts it.
* **Claiming** is ``UPDATE ... WHERE id = ? AND state = 'accepted'``: of several servers, exactly
  one changes the row.
* **Recovery.** A server writes a heartbeat on the jobs it runs; a running job whose owner is a
  process of this host that no longer exists, or whose heartbeat is older than ``stale_after_s``,
  is queued again (up to ``max_attempts`` runs) or failed with the reason. No job stays
  ``running`` after its server is gone.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine

from ..errors import ConfigError
from .problems import Problem
from .quotas import Quota, check_concurrent

__all__ = ["JobStore", "Job", "STATES", "ACTIVE", "FINISHED", "new_owner", "owner_alive", "is_job_id"]

STATES = ("accepted", "running", "successful", "failed", "dismissed")
ACTIVE = ("accepted", "running")
FINISHED = ("successful", "failed", "dismissed")

metadata = MetaData()
keys_table = Table(
    "keys",
    metadata,
    Column("id", String(24), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created", Float, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("max_area_km2", Float, nullable=False),
    Column("max_days", Integer, nullable=False),
    Column("max_concurrent", Integer, nullable=False),
)
jobs_table = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("key_id", String(24), nullable=False, index=True),
    Column("request_hash", String(64), nullable=False, index=True),
    Column("inputs", Text, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("message", Text, nullable=False, default=""),
    Column("progress", Integer, nullable=False, default=0),
    Column("created", Float, nullable=False),
    Column("started", Float),
    Column("finished", Float),
    Column("updated", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("owner", String(200)),
    Column("result_dir", String(200)),
    Column("reused", Boolean, nullable=False, default=False),
)


@dataclass(frozen=True)
class Job:
    """One row of ``jobs``."""

    id: str
    key_id: str
    request_hash: str
    inputs: dict
    state: str
    message: str
    progress: int
    created: float
    started: float | None
    finished: float | None
    updated: float
    attempts: int
    owner: str | None
    result_dir: str | None
    reused: bool

    @classmethod
    def from_row(cls, row: Any) -> "Job":
        d = dict(row._mapping)
        d["inputs"] = json.loads(d["inputs"])
        return cls(**d)


def is_job_id(text: str) -> bool:
    """Whether ``text`` has the form of this store's job ids (32 lowercase hex digits: a UUID4)."""
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def new_owner() -> str:
    """This server process's name in the ``owner`` column: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_alive(owner: str) -> bool | None:
    """Whether the process named by ``owner`` runs: True/False on this host, None elsewhere."""
    host, pid, _ = (owner.split(":") + ["", ""])[:3]
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sqlite_engine(url: str) -> Engine:
    path = url[len("sqlite:///") :]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin event below issues BEGIN
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write_lock") else "BEGIN")

    return engine


def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        return _sqlite_engine(url)
    if url.startswith(("postgresql://", "postgresql+psycopg://")):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"database {url.split('@')[-1]!r} is PostgreSQL, whose driver is not installed; "
                "pip install 'landslide-fusion[serve-postgres]'"
            ) from None
        return create_engine(
            url.replace("postgresql://", "postgresql+psycopg://", 1), pool_pre_ping=True, pool_size=8, max_overflow=8
        )
    raise ConfigError(f"database {url!r} must be sqlite:///PATH or postgresql://USER@HOST/DB")


class JobStore:
    """The database of one service (any number of server processes may share it)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)
        self.postgres = self.engine.dialect.name == "postgresql"
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- transactions ---------------------------------------------------------------------------

    @contextmanager
    def _write(self, lock_jobs: bool = False) -> Iterator[Connection]:
        """A write transaction. SQLite: ``BEGIN IMMEDIATE`` (a deferred transaction that reads and
        then writes fails with "database is locked" when another writer came in between; an
        immediate one waits for the lock instead). PostgreSQL, with ``lock_jobs``: the jobs table
        locked against other admissions (see the module docstring)."""
        conn = self.engine.connect().execution_options(write_lock=True)
        try:
            with conn.begin():
                if lock_jobs and self.postgres:
                    conn.exec_driver_sql("LOCK TABLE jobs IN SHARE ROW EXCLUSIVE MODE")
                yield conn
        finally:
            conn.close()

    # --- keys -----------------------------------------------------------------------------------

    def insert_key(self, row: dict[str, Any]) -> None:
        with self._write() as c:
            c.execute(keys_table.insert().values(**row))

    def key_by_hash(self, token_hash: str) -> dict[str, Any] | None:
        with self.engine.connect() as c:
            row = c.execute(select(keys_table).where(keys_table.c.token_hash == token_hash)).first()
        return dict(row._mapping) if row is not None else None

    def list_keys(self) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(select(keys_table).order_by(keys_table.c.created))]

    def revoke_key(self, key_id: str) -> bool:
        with self._write() as c:
            return c.execute(update(keys_table).where(keys_table.c.id == key_id).values(revoked=True)).rowcount == 1

    # --- jobs -----------------------------------------------------------------------------------

    def admit(
        self, key_id: str, request_hash: str, inputs: dict, quota: Quota, queue: int, retry_after_s: int = 10
    ) -> tuple[Job, bool]:
        """Insert a job for ``key_id`` or return the one that answers the same request.

        Returns ``(job, created)``. The key's own unfinished or successful job with the same
        ``request_hash`` is returned as it is; another key's successful one gives a new job of
        this key, successful at once, sharing its results. Otherwise the key's unfinished jobs
        must be under ``quota.max_concurrent`` (else 429) and the queue's accepted jobs under
        ``queue`` (else 503), both checked and the row inserted under one lock.
        """
        j = jobs_table.c
        now = time.time()
        with self._write(lock_jobs=True) as conn:
            same = conn.execute(
                select(jobs_table)
                .where(and_(j.request_hash == request_hash, j.state.in_(("accepted", "running", "successful"))))
                .order_by(j.created)
            ).fetchall()
            mine = [r for r in same if r.key_id == key_id]
            if mine:
                return Job.from_row(mine[-1]), False
            row = {
                "id": uuid.uuid4().hex,
                "key_id": key_id,
                "request_hash": request_hash,
                "inputs": json.dumps(inputs),
                "created": now,
                "updated": now,
                "attempts": 0,
                "message": "",
                "progress": 0,
                "reused": False,
            }
            done = [r for r in same if r.state == "successful" and r.result_dir]
            if done:
                row.update(
                    state="successful",
                    progress=100,
                    started=now,
                    finished=now,
                    result_dir=done[-1].result_dir,
                    reused=True,
                    message="an identical request was computed before; its results are returned",
                )
            else:
                mine_active = and_(j.key_id == key_id, j.state.in_(ACTIVE))
                active = conn.execute(select(func.count()).where(mine_active)).scalar()
                check_concurrent(quota, int(active), retry_after_s)
                waiting = conn.execute(select(func.count()).where(j.state == "accepted")).scalar()
                if waiting >= queue:
                    raise Problem(
                        503,
                        "queue-full",
                        "The job queue is full",
                        f"{waiting} job(s) are waiting for a worker (the queue holds {queue}); try again later",
                        headers={"Retry-After": str(retry_after_s)},
                    )
                row.update(state="accepted", message="waiting for a worker")
            conn.execute(jobs_table.insert().values(**row))
            return Job.from_row(conn.execute(select(jobs_table).where(j.id == row["id"])).first()), True

    def get(self, job_id: str) -> Job | None:
        with self.engine.connect() as c:
            row = c.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
        return Job.from_row(row) if row is not None else None

    def list_jobs(self, key_id: str | None = None, states: tuple[str, ...] = STATES, limit: int = 100) -> list[Job]:
        q = select(jobs_table).where(jobs_table.c.state.in_(states))
        if key_id is not None:
            q = q.where(jobs_table.c.key_id == key_id)
        with self.engine.connect() as c:
            rows = c.execute(q.order_by(jobs_table.c.created.desc()).limit(limit)).fetchall()
        return [Job.from_row(r) for r in rows]

    def count(self, state: str) -> int:
        with self.engine.connect() as c:
            return int(c.execute(select(func.count()).where(jobs_table.c.state == state)).scalar())

    def claim(self, owner: str) -> Job | None:
        """Take the oldest accepted job for ``owner`` (running, attempts + 1), or None."""
        j = jobs_table.c
        for _ in range(5):  # another server may take the candidate first
            with self._write() as c:
                jid = c.execute(select(j.id).where(j.state == "accepted").order_by(j.created).limit(1)).scalar()
                if jid is None:
                    return None
                now = time.time()
                n = c.execute(
                    update(jobs_table)
                    .where(and_(j.id == jid, j.state == "accepted"))
                    .values(
                        state="running",
                        owner=owner,
                        started=now,
                        updated=now,
                        attempts=j.attempts + 1,
                        progress=5,
                        message="running",
                    )
                ).rowcount
            if n == 1:
                return self.get(jid)
        return None

    def note(self, job_id: str, owner: str, message: str, progress: int) -> None:
        """A running job's message and progress (ignored once it is no longer ``owner``'s)."""
        j = jobs_table.c
        with self._write() as c:
            c.execute(
                update(jobs_table)
                .where(and_(j.id == job_id, j.owner == owner, j.state == "running"))
                .values(message=message[:1000], progress=progress, updated=time.time())
            )

    def finish(self, job_id: str, owner: str, state: str, message: str, result_dir: str | None = None) -> bool:
        """End ``owner``'s running job; False when it is no longer running there (e.g. dismissed)."""
        j = jobs_table.c
        now = time.time()
        with self._write() as c:
            return (
                c.execute(
                    update(jobs_table)
                    .where(and_(j.id == job_id, j.owner == owner, j.state == "running"))
                    .values(
                        state=state,
                        message=message[:4000],
                        finished=now,
                        updated=now,
                        progress=100 if state == "successful" else j.progress,
                        result_dir=result_dir,
                    )
                ).rowcount
                == 1
            )

    def dismiss(self, job_id: str) -> Job | None:
        """Dismiss a job (whatever its state); returns it as it was before."""
        j = jobs_table.c
        before = self.get(job_id)
        if before is None:
            return None
        now = time.time()
        with self._write() as c:
            c.execute(
                update(jobs_table)
                .where(j.id == job_id)
                .values(state="dismissed", message="dismissed by its client", finished=now, updated=now)
            )
        return before

    def shares_results(self, result_dir: str, except_id: str) -> bool:
        """Whether a job other than ``except_id`` still points at ``result_dir``."""
        j = jobs_table.c
        with self.engine.connect() as c:
            return (
                c.execute(
                    select(func.count()).where(
                        and_(j.result_dir == result_dir, j.id != except_id, j.state != "dismissed")
                    )
                ).scalar()
                > 0
            )

    def heartbeat(self, owner: str) -> None:
        with self._write() as c:
            c.execute(
                update(jobs_table)
                .where(and_(jobs_table.c.owner == owner, jobs_table.c.state == "running"))
                .values(updated=time.time())
            )

    def running_of(self, owner: str) -> list[Job]:
        return [job for job in self.list_jobs(states=("running",), limit=10_000) if job.owner == owner]

    def dismissed_of(self, owner: str, ids: list[str]) -> list[str]:
        """Of ``ids`` (jobs ``owner`` runs), those dismissed meanwhile."""
        if not ids:
            return []
        j = jobs_table.c
        with self.engine.connect() as c:
            return [r[0] for r in c.execute(select(j.id).where(and_(j.id.in_(ids), j.state == "dismissed")))]

    def release(self, owner: str) -> None:
        """Queue ``owner``'s running jobs again (its server stops cleanly; the run is not counted)."""
        j = jobs_table.c
        with self._write() as c:
            c.execute(
                update(jobs_table)
                .where(and_(j.owner == owner, j.state == "running"))
                .values(
                    state="accepted",
                    owner=None,
                    progress=0,
                    attempts=j.attempts - 1,
                    updated=time.time(),
                    message="its server stopped; queued again",
                )
            )

    def recover(self, stale_after_s: float, max_attempts: int, me: str) -> list[Job]:
        """Queue again (or fail) running jobs whose server is gone; returns them as they were."""
        now = time.time()
        j = jobs_table.c
        lost = []
        for job in self.list_jobs(states=("running",), limit=10_000):
            if job.owner == me:
                continue
            alive = owner_alive(job.owner or "")
            if alive is False or (alive is None and job.updated < now - stale_after_s):
                lost.append(job)
        for job in lost:
            if job.attempts < max_attempts:
                values = {
                    "state": "accepted",
                    "owner": None,
                    "progress": 0,
                    "message": f"its server stopped while it ran; queued again (run {job.attempts + 1} of "
                    f"at most {max_attempts})",
                }
            else:
                values = {
                    "state": "failed",
                    "finished": now,
                    "message": f"its server stopped while it ran, {job.attempts} time(s); resubmit it",
                }
            with self._write() as c:
                c.execute(
                    update(jobs_table)
                    .where(and_(j.id == job.id, j.state == "running", j.owner == job.owner))
                    .values(updated=now, **values)
                )
        return lost
