"""What one job does, in a worker process: ``assess`` once, then the COGs of its results.

This is the service's only road to a result: :func:`landslide_fusion.assess.assess`, the same
function as ``landslide assess``, with the bundle's folders, the checked inputs and the
configured options; nothing here scores anything. The job's folder is ``DATA/jobs/<id>/``:
``input/regions.geojson`` (written by the server when the request had regions), ``log.txt``
(assess's progress lines) and ``results/``, built in a temporary folder and renamed into place
when complete (:func:`landslide_fusion.io.atomic.output_dir`), so results are never half
written. A ``results/`` already complete (the job finished just before its server died) is
returned as it is.
"""

from __future__ import annotations

import contextlib
import json
import traceback
from pathlib import Path
from typing import Any

from ..errors import LandslideError

__all__ = ["run_job", "run_job_safely", "RESULT_MARKER"]

#: Written last inside the results folder: the job's summary.
RESULT_MARKER = "job.json"


def run_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the job described by ``spec`` (keys: ``job_dir``, ``bbox``, ``date``, ``run``,
    ``tabular``, ``fusion``, ``regions``, ``grid_m``, ``place``, ``catalog``, ``options``);
    returns assess's summary. Raises what assess raises."""
    from ..assess import assess
    from ..io.atomic import output_dir, write_json
    from .cogs import write_cogs

    job_dir = Path(spec["job_dir"])
    results = job_dir / "results"
    if (results / RESULT_MARKER).is_file():
        return json.loads((results / RESULT_MARKER).read_text())
    with open(job_dir / "log.txt", "a", encoding="utf-8") as log, contextlib.redirect_stderr(log):
        with output_dir(results) as tmp:
            summary = assess(
                spec["bbox"],
                spec["date"],
                spec["run"],
                tmp / "assess",
                tabular=spec["tabular"],
                fusion=spec["fusion"],
                regions=spec["regions"],
                grid_m=spec["grid_m"],
                place=spec["place"],
                overwrite=False,
                progress=True,
                catalog=spec["catalog"],
                **spec["options"],
            )
            print("writing cloud-optimised GeoTIFFs", file=log, flush=True)
            write_cogs(tmp / "assess", tmp)
            summary = {k: v for k, v in summary.items() if k != "out"}
            write_json(tmp / RESULT_MARKER, summary)
    return summary


def run_job_safely(spec: dict[str, Any]) -> tuple[str, Any]:
    """:func:`run_job` as ``("ok", summary)`` or ``("error", one-line reason)``; never raises
    (what crosses a process or a Dask worker's boundary is plain data)."""
    try:
        return "ok", run_job(spec)
    except LandslideError as e:
        return "error", str(e)
    except MemoryError:
        return "error", "the job ran out of memory; ask for a smaller box"
    except Exception as e:  # noqa: BLE001  an unexpected failure still ends the job with a reason
        with contextlib.suppress(OSError), open(Path(spec["job_dir"]) / "log.txt", "a", encoding="utf-8") as log:
            traceback.print_exc(file=log)
        return "error", f"internal error ({type(e).__name__}: {e}); the service's log.txt of the job has the trace"
