"""``landslide serve``: the service under uvicorn, one process (several share a PostgreSQL database)."""

from __future__ import annotations

import os
import sys
from typing import Any

from .config import load_serve_config

__all__ = ["run_server"]


def run_server(
    config: str | os.PathLike[str] | None = None,
    overrides: tuple[str, ...] | list[str] = (),
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Load the configuration, then serve until stopped (Ctrl-C, SIGTERM); returns what was served."""
    import uvicorn

    from .app import create_app
    from .pool import make_pool
    from .store import JobStore

    cfg = load_serve_config(config, overrides, {"server.host": host, "server.port": port, "server.workers": workers})
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    pool = make_pool(cfg.server.workers, cfg.server.job_timeout_s, cfg.server.dask_scheduler)  # errors: one line
    store = JobStore(cfg.database)
    keys = len(store.list_keys())
    store.close()
    where = cfg.database.split("@")[-1]
    runs_on = (
        f"Dask scheduler {cfg.server.dask_scheduler}"
        if cfg.server.dask_scheduler
        else f"{cfg.server.workers} local worker process(es)"
    )
    print(
        f"landslide serve: http://{cfg.server.host}:{cfg.server.port}/ (database {where}, {runs_on}, bundles: "
        f"{', '.join(cfg.bundles) or 'none'}; {keys} API key(s)"
        + ("" if keys else "; create one with 'landslide serve key create --name NAME'")
        + ")",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        create_app(cfg, pool),
        host=cfg.server.host,
        port=cfg.server.port,
        log_level="warning",
        timeout_graceful_shutdown=10,
        access_log=False,
    )
    return {"host": cfg.server.host, "port": cfg.server.port, "database": where}
