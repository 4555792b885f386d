"""A STAC API backed by a database, the stack behind the Planetary Computer: PostgreSQL with
PostGIS from Debian's packages, the pgstac schema (``pypgstac migrate``), and stac-fastapi-pgstac
under uvicorn on 127.0.0.1 (``tests/stac_api_app.py``, which also serves the generated COGs and
injects faults).

The database lives in a temporary folder, is started once per test session by whoever runs the
tests (as the ``postgres`` user when that is root: PostgreSQL refuses to run as root), listens on
127.0.0.1 only with ``trust`` authentication, runs without fsync, and is removed at the end.
``make test`` installs the packages (``make system``); where they are absent the tests that
need them skip, saying what to install.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.stac_catalog import free_port

__all__ = ["postgres_bindir", "missing_postgres", "PgStacServer", "start_pgstac"]

REPO = Path(__file__).resolve().parents[1]


def postgres_bindir() -> Path | None:
    """Folder of the newest PostgreSQL server binaries (Debian: /usr/lib/postgresql/N/bin), else on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: float(Path(p).parts[-3]))
    initdb = found[-1] if found else shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def missing_postgres() -> str | None:
    """Why the database-backed STAC API cannot run here, or None when it can."""
    bindir = postgres_bindir()
    if bindir is None:
        return "PostgreSQL is not installed (make system, or apt-get install postgresql postgis)"
    pg_config = bindir / "pg_config"
    share = (
        subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True).stdout.strip()
        if pg_config.is_file()
        else ""
    )
    if share and not Path(share, "extension", "postgis.control").is_file():
        version = bindir.parts[-2]
        return f"PostGIS is not installed for PostgreSQL {version} (apt-get install postgresql-{version}-postgis-3)"
    for module in ("pypgstac", "stac_fastapi.pgstac", "psycopg"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[dev]')"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and no 'postgres' user to run the database as"
    return None


@dataclass
class PgStacServer:
    """The running database and API; :meth:`load` upserts collections and items, :meth:`faults`
    sets the injected faults."""

    url: str
    dsn: str
    data: Path
    folder: Path
    processes: list = field(default_factory=list)

    def load(self, items: list[dict]) -> None:
        """Upsert ``items`` (dicts) and, first, a collection for each collection id they name."""
        from pypgstac.db import PgstacDB
        from pypgstac.load import Loader, Methods

        cols = sorted({it["collection"] for it in items})
        with PgstacDB(dsn=self.dsn) as db:
            loader = Loader(db)
            loader.load_collections(iter([_collection(c) for c in cols]), Methods.ignore)
            loader.load_items(iter(items), Methods.upsert)

    def faults(self, rules: list[dict] | None = None) -> list[dict]:
        """Set the injected fault ``rules`` (see tests/stac_api_app.py); None returns those left."""
        if rules is None:
            return json.loads(urllib.request.urlopen(self.url + "/_faults", timeout=10).read())
        req = urllib.request.Request(
            self.url + "/_faults",
            data=json.dumps(rules).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(req, timeout=10).read()
        return rules

    def stop(self) -> None:
        """Stop the API and the database together (SIGINT: uvicorn's and PostgreSQL's fast
        shutdown), and remove the folder."""
        for p in self.processes:
            p.send_signal(signal.SIGINT)
        for p in self.processes:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def _collection(cid: str) -> dict:
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": cid,
        "description": cid,
        "license": "proprietary",
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
        "links": [],
    }


def _run(cmd: list[str], user: str | None) -> None:
    r = subprocess.run(cmd, user=user, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()[-1500:]}")


def _wait(url: str, proc: subprocess.Popen, what: str, timeout: float = 90.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer {url} within {timeout} s")


def start_pgstac() -> PgStacServer:
    """initdb + postgres + pgstac schema + the API (see the module docstring)."""
    bindir = postgres_bindir()
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="landslide-pgstac-"))
    data = folder / "www"
    data.mkdir()
    if user:
        import pwd

        pw = pwd.getpwnam(user)
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    server = PgStacServer("", "", data, folder)
    try:
        pgdata = folder / "pg"
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            user,
        )
        port = free_port()
        pg = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(pgdata),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-k",
                str(folder),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            user=user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        server.processes.append(pg)
        server.dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        t0 = time.time()
        while subprocess.run([str(bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]).returncode:
            if pg.poll() is not None or time.time() - t0 > 60:
                raise RuntimeError(f"postgres did not start: {pg.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        from pypgstac.db import PgstacDB
        from pypgstac.migrate import Migrate

        with PgstacDB(dsn=server.dsn) as db:
            Migrate(db).run_migration()
        api_port = free_port()
        env = {
            **os.environ,
            "POSTGRES_USER": "postgres",
            "POSTGRES_PASS": "unused",
            "POSTGRES_HOST_READER": "127.0.0.1",
            "POSTGRES_HOST_WRITER": "127.0.0.1",
            "POSTGRES_PORT": str(port),
            "POSTGRES_DBNAME": "postgres",
            "STAC_DATA_DIR": str(data),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tests.stac_api_app:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        server.processes.append(api)
        server.url = f"http://127.0.0.1:{api_port}"
        _wait(server.url + "/", api, "stac-fastapi-pgstac")
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def pgstac_api():
    """The database-backed STAC API, once per session; skips with the reason when it cannot run."""
    reason = missing_postgres()
    if reason:
        if os.environ.get("LANDSLIDE_REQUIRE_POSTGRES"):
            pytest.fail(f"LANDSLIDE_REQUIRE_POSTGRES is set but {reason}")
        pytest.skip(reason)
    server = start_pgstac()
    yield server
    server.stop()
