"""The assessment service: ``landslide serve``.

OGC API - Processes (Part 1: Core) over :func:`landslide_fusion.assess.assess`, with jobs in a
database (SQLite, or PostgreSQL by URL), a bounded pool of worker processes (or a Dask
distributed cluster), model bundles registered by name, API keys with quotas, and a web map at
``/``. It sits above ``assess`` and calls it as ``landslide assess`` does; it scores nothing
itself. One concept per module: :mod:`.config`, :mod:`.bundles`, :mod:`.quotas`,
:mod:`.keys`, :mod:`.store`, :mod:`.process`, :mod:`.worker`, :mod:`.cogs`, :mod:`.pool`,
:mod:`.dispatcher`, :mod:`.tiles`, :mod:`.problems`, :mod:`.guard`, :mod:`.app`,
:mod:`.server`, :mod:`.cli`. Needs the ``serve`` extra (``pip install -e ".[serve]"``).
"""

from __future__ import annotations

__all__ = ["create_app", "run_server", "load_serve_config", "create_key", "JobStore"]


def __getattr__(name: str):  # the web stack is imported only when the service is used
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "run_server":
        from .server import run_server

        return run_server
    if name == "load_serve_config":
        from .config import load_serve_config

        return load_serve_config
    if name == "create_key":
        from .keys import create_key

        return create_key
    if name == "JobStore":
        from .store import JobStore

        return JobStore
    raise AttributeError(name)
