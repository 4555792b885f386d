"""The server's configuration: one TOML file (``landslide serve --config serve.toml``).

::

    [server]
    database = "sqlite:///serve-data/jobs.db"   # or postgresql://user@host/db for several servers
    data_dir = "serve-data"                      # job folders (shared storage for a Dask cluster)
    workers = 2                                  # job processes at a time (local pool)
    queue = 8                                    # accepted jobs waiting beyond which POST answers 503
    dask_scheduler = "tcp://10.0.0.5:8786"      # optional: run jobs on a Dask distributed cluster

    [quota]                                      # defaults of keys created without their own
    max_area_km2 = 100.0

    [catalogs]                                   # STAC APIs a request may name (first = default)
    earth-search = "https://earth-search.aws.element84.com/v1"

    [bundles.demo]                               # a request names a bundle, never a path
    run = "runs/seg"
    tabular = "runs/tab"
    fusion = "runs/fusion"

    [assess]                                     # extra options passed to assess for every job
    max_scenes = 3

Relative paths are taken from the config file's folder. Without a file, the embedded default
is used: SQLite and job folders under ``./serve-data``, two worker processes, no bundles.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import load_config, setting
from ..errors import ConfigError
from .bundles import Bundle, parse_bundles
from .quotas import Quota

__all__ = ["ServerSettings", "ServeConfig", "ServeSettings", "load_serve_config", "DEFAULT_CATALOG"]

DEFAULT_CATALOG = "https://earth-search.aws.element84.com/v1"


@dataclass(frozen=True)
class ServerSettings:
    """``[server]``: storage, the worker pool, limits of a request, CORS and job recovery."""

    host: str = "127.0.0.1"
    port: int = setting(8080, ge=0, le=65535)
    database: str = ""  #: SQLAlchemy URL; empty = sqlite:///DATA_DIR/jobs.db
    data_dir: str = "serve-data"
    workers: int = setting(2, ge=1)
    queue: int = setting(8, ge=0)
    dask_scheduler: str = ""
    max_body_bytes: int = setting(1_000_000, ge=1024)
    cors_origins: tuple[str, ...] = ()
    heartbeat_s: float = setting(5.0, gt=0)
    stale_after_s: float = setting(30.0, gt=0)
    max_attempts: int = setting(2, ge=1)
    job_timeout_s: float = setting(3600.0, gt=0)
    max_grid_cells: int = setting(100_000, ge=1)
    web_modules: str = ""  #: folder holding node_modules/leaflet; empty = beside the page


@dataclass(frozen=True)
class ServeSettings:
    """The file as written (see the module docstring)."""

    server: ServerSettings = field(default_factory=ServerSettings)
    quota: Quota = field(default_factory=Quota)
    catalogs: dict = field(default_factory=lambda: {"earth-search": DEFAULT_CATALOG})
    bundles: dict = field(default_factory=dict)
    assess: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ServeConfig:
    """A loaded configuration: settings with paths resolved and bundles checked."""

    settings: ServeSettings
    database: str
    data_dir: Path
    bundles: dict[str, Bundle]
    catalogs: dict[str, str]
    source: str

    @property
    def server(self) -> ServerSettings:
        return self.settings.server

    @property
    def quota(self) -> Quota:
        return self.settings.quota

    @property
    def assess_options(self) -> dict[str, Any]:
        return dict(self.settings.assess)


def _catalogs(table: dict, where: str) -> dict[str, str]:
    if not table:
        raise ConfigError(
            f'{where}: [catalogs] is empty; name at least one STAC API, e.g. earth-search = "{DEFAULT_CATALOG}"'
        )
    bad = [k for k, v in table.items() if not isinstance(v, str) or not v.startswith(("http://", "https://"))]
    if bad:
        raise ConfigError(f"{where}: catalogs.{bad[0]} = {table[bad[0]]!r} must be an http(s) URL of a STAC API")
    return dict(table)


def load_serve_config(
    path: str | os.PathLike[str] | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    values: dict[str, Any] | None = None,
    check_bundles: bool = True,
) -> ServeConfig:
    """Load and check ``path`` (the embedded default when None), then ``--set`` ``overrides``,
    then ``values`` (command-line options: dotted key -> value; None values are left out).

    Bundles are checked (their folders exist and hold a run) unless ``check_bundles`` is False
    (what the key commands use: they need only the database)."""
    settings = load_config(ServeSettings, path, overrides, {k: v for k, v in (values or {}).items() if v is not None})
    base = Path(path).resolve().parent if path is not None else Path.cwd()
    where = str(path) if path is not None else "the default configuration"
    data_dir = (base / settings.server.data_dir).resolve()
    database = settings.server.database or f"sqlite:///{data_dir / 'jobs.db'}"
    if database.startswith("sqlite:///") and not database.startswith("sqlite:////"):
        database = f"sqlite:///{(base / database[len('sqlite:///') :]).resolve()}"
    if settings.server.web_modules:
        settings = replace(
            settings, server=replace(settings.server, web_modules=str((base / settings.server.web_modules).resolve()))
        )
    bundles = parse_bundles(settings.bundles, base, where, check=check_bundles)
    return ServeConfig(settings, database, data_dir, bundles, _catalogs(settings.catalogs, where), where)
