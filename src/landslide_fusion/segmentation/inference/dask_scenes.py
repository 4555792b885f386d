"""Many scenes on a Dask cluster: one task per scene, each written window by window.

Each task loads the run from its folder on the worker (the run travels as a path, not as a
pickled model) and calls :func:`~landslide_fusion.segmentation.inference.scene.predict_scene` into
``OUT/<scene stem>/``, so a failed or repeated task never touches another scene's outputs.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import ConfigError, DataError

__all__ = ["predict_scenes"]


def _one(run: str, scene: str, out: str, options: dict) -> dict:
    import torch

    from .scene import predict_scene

    torch.set_num_threads(options.pop("threads", 1) or 1)
    return predict_scene(run, scene, out, **options)


def predict_scenes(
    run: str | os.PathLike[str],
    scenes: list[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    scheduler: str | None = None,
    workers: int = 2,
    threads_per_task: int = 1,
    **options,
) -> list[dict]:
    """Predict ``scenes`` in parallel on Dask; returns one summary per scene (input order).

    ``scheduler``: address of a running ``dask.distributed`` scheduler, or None for a local
    cluster of ``workers`` single-threaded workers. ``options`` go to ``predict_scene``.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("many-scene prediction needs Dask; pip install 'landslide-fusion[dask]'") from None
    scenes = [Path(s) for s in scenes]
    missing = [str(s) for s in scenes if not s.is_file()]
    if missing:
        raise DataError(f"scene file(s) not found: {', '.join(missing)}")
    stems = [s.stem for s in scenes]
    if len(set(stems)) != len(stems):
        raise DataError("two scenes share a file name; each writes OUT/<name>/, so rename one")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cluster = (
        None
        if scheduler
        else LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=None)
    )
    try:
        with Client(scheduler or cluster) as client:
            futures = [
                client.submit(
                    _one,
                    str(run),
                    str(s),
                    str(out / s.stem),
                    {**options, "threads": threads_per_task},
                    key=f"scene-{s.stem}",
                    pure=False,
                )
                for s in scenes
            ]
            return client.gather(futures)
    finally:
        if cluster is not None:
            cluster.close()
