"""The service's database, on SQLite and on a real PostgreSQL server (a throwaway cluster made
with Debian's ``initdb``; skipped with the reason when PostgreSQL is not installed): admission
under one lock, claims taken once, recovery of jobs whose server died, reuse of a finished
job's results, and keys stored hashed."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

from landslide_fusion.serve.problems import Problem  # noqa: E402
from landslide_fusion.serve.quotas import Quota  # noqa: E402
from landslide_fusion.serve.store import JobStore, new_owner  # noqa: E402
from tests.stac_catalog import free_port  # noqa: E402


def _pg_tools() -> tuple[str, str] | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = found[-1] if found else shutil.which("initdb")
    return (initdb, str(Path(initdb).with_name("pg_ctl"))) if initdb else None


@pytest.fixture(scope="session")
def postgres_url():
    """``LANDSLIDE_TEST_POSTGRES`` (a server to use), else a new cluster on 127.0.0.1 for the session."""
    if os.environ.get("LANDSLIDE_TEST_POSTGRES"):
        yield os.environ["LANDSLIDE_TEST_POSTGRES"]
        return
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install -e '.[serve-postgres]')")
    tools = _pg_tools()
    if tools is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql); the SQLite path is tested")
    initdb, pg_ctl = tools
    folder = Path(tempfile.mkdtemp(prefix="lf-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as Debian's postgres user
        shutil.chown(folder, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    db, port = folder / "db", free_port()
    subprocess.run(
        [*run_as, initdb, "-D", str(db), "-A", "trust", "-U", "postgres", "--no-sync"], check=True, capture_output=True
    )
    subprocess.run(
        [
            *run_as,
            pg_ctl,
            "-D",
            str(db),
            "-w",
            "-l",
            str(folder / "log"),
            "-o",
            f"-p {port} -h 127.0.0.1 -k {folder} -c fsync=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    subprocess.run([*run_as, pg_ctl, "-D", str(db), "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    else:
        s = JobStore(request.getfixturevalue("postgres_url"))
        from landslide_fusion.serve.store import metadata

        metadata.drop_all(s.engine)
        metadata.create_all(s.engine)
    yield s
    s.close()


def _admit_many(store: JobStore, n: int, key: str, quota: Quota, queue: int) -> list[int]:
    """``n`` threads admitting distinct requests at once; their HTTP statuses (201 or the refusal's)."""
    codes: list[int] = []
    barrier = threading.Barrier(n)

    def one(i: int) -> None:
        barrier.wait()
        try:
            store.admit(key, f"h{key}{i}", {"i": i}, quota, queue)
            codes.append(201)
        except Problem as p:
            codes.append(p.status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(codes)


def test_admission_counts_are_true_when_the_job_is_inserted(store):
    """Twelve concurrent submissions: a key allowed 3 gets exactly 3; a queue of 5 takes exactly 5."""
    assert _admit_many(store, 12, "k1", Quota(max_concurrent=3), queue=100) == [201] * 3 + [429] * 9
    assert _admit_many(store, 12, "k2", Quota(max_concurrent=100), queue=8) == [201] * 5 + [503] * 7
    assert store.count("accepted") == 8


def test_each_job_is_claimed_once_by_competing_servers(store):
    for i in range(10):
        store.admit("k", f"h{i}", {"i": i}, Quota(max_concurrent=100), queue=100)
    owners = [new_owner() for _ in range(3)]
    taken: list[tuple[str, str]] = []

    def server(owner: str) -> None:
        while (job := store.claim(owner)) is not None:
            taken.append((job.id, owner))

    threads = [threading.Thread(target=server, args=(o,)) for o in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 10 and len({j for j, _ in taken}) == 10
    assert all(store.get(j).owner == o and store.get(j).state == "running" for j, o in taken)


def test_jobs_of_a_dead_server_are_run_again_then_failed_with_the_reason(store):
    job, _ = store.admit("k", "h", {}, Quota(), queue=10)
    dead = new_owner().rsplit(":", 2)[0] + ":4194303:gone"  # this host, a pid above Linux's pid_max
    me = new_owner()
    assert store.claim(dead).id == job.id
    assert [j.id for j in store.recover(stale_after_s=60, max_attempts=2, me=me)] == [job.id]
    j = store.get(job.id)
    assert j.state == "accepted" and "queued again (run 2 of at most 2)" in j.message
    store.claim(dead)
    store.recover(stale_after_s=60, max_attempts=2, me=me)
    j = store.get(job.id)
    assert j.state == "failed" and "its server stopped while it ran, 2 time(s)" in j.message and j.finished
    # another host's server: judged by its heartbeat
    job2, _ = store.admit("k", "h2", {}, Quota(), queue=10)
    store.claim("elsewhere:12:abc")
    assert store.recover(stale_after_s=60, max_attempts=2, me=me) == []
    time.sleep(0.3)
    assert [j.id for j in store.recover(stale_after_s=0.1, max_attempts=2, me=me)] == [job2.id]


def test_a_repeated_request_gets_the_finished_results(store):
    q = Quota()
    job, created = store.admit("alice", "same", {"x": 1}, q, queue=10)
    assert created and store.admit("alice", "same", {"x": 1}, q, queue=10) == (store.get(job.id), False)
    owner = new_owner()
    store.claim(owner)
    assert store.finish(job.id, owner, "successful", "done", f"jobs/{job.id}/results")
    again, created = store.admit("alice", "same", {"x": 1}, q, queue=10)
    assert not created and again.id == job.id
    theirs, created = store.admit("bob", "same", {"x": 1}, q, queue=0)  # a full queue does not matter
    assert created and theirs.state == "successful" and theirs.reused and theirs.result_dir == f"jobs/{job.id}/results"
    assert store.shares_results(theirs.result_dir, job.id)


def test_keys_are_stored_hashed(tmp_path):
    from typer.testing import CliRunner

    from landslide_fusion.cli import app
    from landslide_fusion.serve.keys import authenticate

    cfg = tmp_path / "serve.toml"
    cfg.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n')
    r = CliRunner().invoke(
        app, ["serve", "key", "create", "--name", "analysts", "--max-area", "25", "--config", str(cfg), "--json"]
    )
    assert r.exit_code == 0, r.output
    import json

    doc = json.loads(r.stdout)
    token = doc["token"]
    assert token.startswith("lsk_") and doc["quota"]["max_area_km2"] == 25.0
    assert token.encode() not in (tmp_path / "data" / "jobs.db").read_bytes()
    store = JobStore(f"sqlite:///{tmp_path / 'data' / 'jobs.db'}")
    assert authenticate(store, f"Bearer {token}").name == "analysts"
    listed = CliRunner().invoke(app, ["serve", "key", "list", "--config", str(cfg)])
    assert doc["id"] in listed.stdout and token not in listed.stdout
    assert CliRunner().invoke(app, ["serve", "key", "revoke", doc["id"], "--config", str(cfg)]).exit_code == 0
    with pytest.raises(Problem) as e:
        authenticate(store, f"Bearer {token}")
    assert e.value.status == 401
    bad = CliRunner().invoke(app, ["serve", "key", "create", "--name", "x", "--max-area", "-1", "--config", str(cfg)])
    assert bad.exit_code == 1 and bad.stderr.startswith("error: max_area_km2 = -1.0 must be > 0")
