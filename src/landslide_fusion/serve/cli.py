"""``landslide serve``: start the assessment service; ``landslide serve key ...``: its API keys."""

from __future__ import annotations

from pathlib import Path

import typer

from ..clitools import JsonOption, SetOption, area_app, emit, user_errors
from ..usage import example

__all__ = ["app"]

app = area_app(
    "The assessment service (OGC API - Processes, web map at /) and its API keys.",
    invoke_without_command=True,
    no_args_is_help=False,
)
key_app = area_app("API keys: bearer tokens stored hashed, with per-key quotas.")
app.add_typer(key_app, name="key")

ServeConfigOption = typer.Option(
    None,
    "--config",
    "-c",
    help="Server TOML (see configs/serve.toml); default: SQLite and job folders in ./serve-data, no bundles.",
)


@app.callback()
@user_errors
def serve(
    ctx: typer.Context,
    config: Path = ServeConfigOption,
    host: str = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="Port (default 8080)."),
    workers: int = typer.Option(None, "--workers", help="Jobs run at a time by the local pool (default 2)."),
    overrides: list[str] = SetOption,
) -> None:
    """Serve until Ctrl-C: jobs in the database, run by the worker pool, web map at /."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"config": config, "overrides": overrides}
        return
    from .server import run_server

    run_server(config, overrides, host=host, port=port, workers=workers)


def _store(ctx: typer.Context, config: Path | None):
    from .config import load_serve_config
    from .store import JobStore

    parent = ctx.obj or {}
    cfg = load_serve_config(config or parent.get("config"), parent.get("overrides", ()), check_bundles=False)
    return JobStore(cfg.database), cfg


def _shown(k) -> dict:
    return {"id": k.id, "name": k.name, "revoked": k.revoked, "quota": k.quota.__dict__}


@key_app.command(
    "create", epilog=example("landslide serve key create --name analyst -c configs/serve.toml --max-area 100")
)
@user_errors
def key_create(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", help="Who or what the key is for."),
    max_area: float = typer.Option(None, "--max-area", help="Largest box (km^2); default: the config's quota table."),
    max_days: int = typer.Option(None, "--max-days", help="Longest date span (days)."),
    max_concurrent: int = typer.Option(None, "--max-concurrent", help="Unfinished jobs at once."),
    config: Path = ServeConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a key; its token is printed once (the server stores only its SHA-256)."""
    from dataclasses import replace

    from ..config import check_ranges
    from .keys import create_key

    store, cfg = _store(ctx, config)
    asked = {"max_area_km2": max_area, "max_days": max_days, "max_concurrent": max_concurrent}
    quota = replace(cfg.quota, **{k: v for k, v in asked.items() if v is not None})
    check_ranges(quota, "the command line")
    k, token = create_key(store, name, quota)
    emit(
        {**_shown(k), "token": token},
        as_json,
        f"key {k.id} ({k.name}): box <= {quota.max_area_km2:g} km^2, <= {quota.max_days} days, "
        f"<= {quota.max_concurrent} jobs at once\ntoken (shown once; send as 'Authorization: Bearer TOKEN'):\n{token}",
    )


@key_app.command("list", epilog=example("landslide serve key list -c configs/serve.toml"))
@user_errors
def key_list(ctx: typer.Context, config: Path = ServeConfigOption, as_json: bool = JsonOption) -> None:
    """List keys (never their tokens)."""
    from .keys import list_keys

    keys = list_keys(_store(ctx, config)[0])
    emit(
        [_shown(k) for k in keys],
        as_json,
        "\n".join(
            f"{k.id}  {k.name}{'  (revoked)' if k.revoked else ''}  box <= {k.quota.max_area_km2:g} km^2, "
            f"<= {k.quota.max_days} days, <= {k.quota.max_concurrent} jobs"
            for k in keys
        )
        or "no keys",
    )


@key_app.command("revoke", epilog=example("landslide serve key revoke KEY_ID -c configs/serve.toml"))
@user_errors
def key_revoke(
    ctx: typer.Context,
    key_id: str = typer.Argument(..., help="The key's id (landslide serve key list)."),
    config: Path = ServeConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Revoke a key: its token is refused from the next request on."""
    from .keys import revoke_key

    k = revoke_key(_store(ctx, config)[0], key_id)
    emit(_shown(k), as_json, f"revoked {k.id} ({k.name})")
