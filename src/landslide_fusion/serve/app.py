"""The HTTP API (FastAPI): OGC API - Processes, Part 1: Core, over :func:`landslide_fusion.assess.assess`.

=====================================================  =========================================
``GET /``                                              the web map (HTML), or the landing page (JSON)
``GET /conformance``, ``GET /processes[/assess]``      what the service is and runs
``POST /processes/assess/execution``                   201 + ``Location: /jobs/{id}`` (asynchronous)
``GET /jobs``, ``GET /jobs/{id}``                      this key's jobs, a job's status and progress
``GET /jobs/{id}/results``                             risk and landslide GeoJSON, links to the COGs
``GET /jobs/{id}/results/{output}``                    one output's file (range requests answered)
``GET /jobs/{id}/tiles/{layer}/{z}/{x}/{y}.png``       map tiles of the COGs
``DELETE /jobs/{id}``                                  cancel (running) or dismiss (finished)
``GET /openapi.json``, ``GET /health``                 the OpenAPI document; liveness and queue
=====================================================  =========================================

Everything under ``/jobs`` and the execution need ``Authorization: Bearer <token>``; a key sees
only its own jobs (another key's job id is answered as an unknown one: 404). Refusals are
problem documents (:mod:`.problems`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from ..riskmap import RISK_COLOURS
from .config import ServeConfig
from .dispatcher import Dispatcher, job_folder
from .guard import Guard
from .keys import ApiKey, authenticate
from .pool import Pool, make_pool
from .problems import Problem, problem_response
from .process import OUTPUTS, PROCESS_ID, ExecuteRequest, check_request, process_description
from .store import Job, JobStore, is_job_id, new_owner
from .tiles import LAYERS, render_tile

__all__ = ["create_app", "WEB_DIR"]

log = logging.getLogger("landslide.serve")

WEB_DIR = Path(__file__).resolve().parent / "web"
_CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30",
]


def _iso(t: float | None) -> str | None:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds") if t else None


def _status(job: Job) -> dict[str, Any]:
    """OGC ``statusInfo`` of ``job``."""
    links = [{"href": f"/jobs/{job.id}", "rel": "self", "type": "application/json", "title": "status"}]
    if job.state == "successful":
        links.append(
            {
                "href": f"/jobs/{job.id}/results",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/results",
                "type": "application/json",
                "title": "results",
            }
        )
    return {
        "jobID": job.id,
        "processID": PROCESS_ID,
        "type": "process",
        "status": job.state,
        "message": job.message,
        "progress": job.progress,
        "created": _iso(job.created),
        "started": _iso(job.started),
        "finished": _iso(job.finished),
        "updated": _iso(job.updated),
        "reused": job.reused,
        "inputs": {k: v for k, v in job.inputs.items() if k != "regions"},
        "links": links,
    }


def _no_job(job_id: str) -> Problem:
    return Problem(404, "no-such-job", "No such job", f"no job {job_id[:40]!r} for this key")


def _web_modules(cfg: ServeConfig) -> Path:
    return Path(cfg.server.web_modules) if cfg.server.web_modules else WEB_DIR


def create_app(cfg: ServeConfig, pool: Pool | None = None) -> Any:
    """The service for ``cfg``: a FastAPI app wrapped in :class:`~.guard.Guard`. Its lifespan opens
    the database, starts the dispatcher over ``pool`` (made from ``cfg`` when None), and stops them."""
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        store = JobStore(cfg.database)
        pool_ = pool or make_pool(cfg.server.workers, cfg.server.job_timeout_s, cfg.server.dask_scheduler)
        dispatcher = Dispatcher(store, cfg, pool_, new_owner())
        state.update(store=store, dispatcher=dispatcher)
        dispatcher.start()
        try:
            yield
        finally:
            dispatcher.stop()
            pool_.close()
            store.release(dispatcher.owner)
            store.close()

    api = FastAPI(
        title="landslide-fusion assessment service",
        version="1.0.0",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        description="OGC API - Processes (Part 1: Core) over landslide_fusion.assess.",
    )
    if cfg.server.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        api.add_middleware(
            CORSMiddleware,
            allow_origins=list(cfg.server.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Location"],
        )

    def store() -> JobStore:
        return state["store"]

    def key(authorization: str | None = Header(None, description="Bearer <token>")) -> ApiKey:
        return authenticate(state["store"], authorization)

    def own_job(job_id: str, k: ApiKey = Depends(key)) -> Job:
        if not is_job_id(job_id):
            raise _no_job(job_id)
        job = store().get(job_id)
        if job is None or job.key_id != k.id:
            raise _no_job(job_id)
        return job

    def results_folder(job: Job) -> Path:
        if job.state != "successful" or not job.result_dir:
            if job.state in ("accepted", "running"):
                raise Problem(
                    404,
                    "result-not-ready",
                    "Results not ready",
                    f"job {job.id} is {job.state}; poll GET /jobs/{{id}} until it is successful",
                )
            if job.state == "dismissed":
                raise Problem(410, "job-dismissed", "Job dismissed", f"job {job.id} was dismissed; submit it again")
            raise Problem(409, "job-failed", "Job failed", f"job {job.id} failed: {job.message}")
        return cfg.data_dir / job.result_dir

    @api.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"where": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body", "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"where": "body", "problem": "invalid"}
        return problem_response(
            Problem(400, "invalid-input", "Invalid input", f"{first['where']}: {first['problem']}", errors=errors),
            request,
        )

    @api.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        slugs = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}
        detail = f"no resource at {request.url.path}" if exc.status_code == 404 else str(exc.detail)
        return problem_response(
            Problem(
                exc.status_code,
                slugs.get(exc.status_code, "http-error"),
                "Not found" if exc.status_code == 404 else detail,
                detail,
                headers=dict(exc.headers or {}),
            ),
            request,
        )

    @api.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem_response(
            Problem(
                500, "internal-error", "Internal error", f"the server failed on this request ({type(exc).__name__})"
            ),
            request,
        )

    @api.get("/", response_model=None, summary="Web map (HTML) or landing page (JSON)")
    def landing(request: Request, f: str | None = None) -> Response:
        if f == "html" or (f is None and "text/html" in request.headers.get("accept", "")):
            return HTMLResponse((WEB_DIR / "index.html").read_text(encoding="utf-8"))
        return JSONResponse(
            {
                "title": "landslide-fusion assessment service",
                "description": "Landslide risk of a box and dates, as OGC API - Processes jobs.",
                "links": [
                    {"href": "/", "rel": "self", "type": "application/json"},
                    {"href": "/?f=html", "rel": "alternate", "type": "text/html", "title": "map"},
                    {
                        "href": "/openapi.json",
                        "rel": "service-desc",
                        "type": "application/vnd.oai.openapi+json;version=3.0",
                    },
                    {
                        "href": "/conformance",
                        "rel": "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                        "type": "application/json",
                    },
                    {
                        "href": "/processes",
                        "rel": "http://www.opengis.net/def/rel/ogc/1.0/processes",
                        "type": "application/json",
                    },
                    {
                        "href": "/jobs",
                        "rel": "http://www.opengis.net/def/rel/ogc/1.0/job-list",
                        "type": "application/json",
                    },
                ],
            }
        )

    @api.get("/conformance", summary="Conformance classes")
    def conformance() -> dict:
        return {"conformsTo": _CONFORMANCE}

    @api.get("/health", summary="Liveness and queue length")
    def health() -> dict:
        return {"status": "ok", "accepted": store().count("accepted"), "running": store().count("running")}

    @api.get("/processes", summary="Processes offered")
    def processes() -> dict:
        d = process_description(cfg)
        summary = {
            k: d[k] for k in ("id", "title", "version", "description", "jobControlOptions", "outputTransmission")
        }
        return {
            "processes": [
                {**summary, "links": [{"href": f"/processes/{PROCESS_ID}", "rel": "self", "type": "application/json"}]}
            ],
            "links": [{"href": "/processes", "rel": "self", "type": "application/json"}],
        }

    @api.get("/processes/{process_id}", summary="A process's description")
    def process(process_id: str) -> dict:
        if process_id != PROCESS_ID:
            raise Problem(404, "no-such-process", "No such process", f"no process {process_id[:40]!r}; valid: assess")
        d = process_description(cfg)
        d["outputs"]["risk"]["legend"] = dict(RISK_COLOURS)  # the colours of map.png
        return d

    @api.post(
        "/processes/{process_id}/execution",
        status_code=201,
        summary="Submit a job (asynchronous)",
        responses={201: {"description": "job accepted"}, 200: {"description": "the same request's job"}},
    )
    def execute(process_id: str, body: ExecuteRequest, k: ApiKey = Depends(key)) -> JSONResponse:
        if process_id != PROCESS_ID:
            raise Problem(404, "no-such-process", "No such process", f"no process {process_id[:40]!r}; valid: assess")
        req = check_request(body, cfg, k.quota)
        job, created = store().admit(k.id, req.hash, req.inputs, k.quota, cfg.server.queue)
        return JSONResponse(_status(job), status_code=201 if created else 200, headers={"Location": f"/jobs/{job.id}"})

    @api.get("/jobs", summary="This key's jobs")
    def jobs(limit: int = 100, k: ApiKey = Depends(key)) -> dict:
        found = store().list_jobs(k.id, limit=max(1, min(limit, 1000)))
        return {"jobs": [_status(j) for j in found], "links": [{"href": "/jobs", "rel": "self"}]}

    @api.get("/jobs/{job_id}", summary="A job's status")
    def job_status(job: Job = Depends(own_job)) -> dict:
        return _status(job)

    @api.delete("/jobs/{job_id}", summary="Cancel or dismiss a job")
    def dismiss(job: Job = Depends(own_job)) -> dict:
        store().dismiss(job.id)  # a running job's process is stopped, and its folder removed, by the dispatcher
        if job.result_dir:  # results shared with another key's identical request stay while it holds them
            if not store().shares_results(job.result_dir, job.id):
                shutil.rmtree((cfg.data_dir / job.result_dir).parent, ignore_errors=True)
        elif job.state in ("accepted", "failed"):
            shutil.rmtree(job_folder(cfg.data_dir, job.id), ignore_errors=True)
        return _status(store().get(job.id))

    @api.get("/jobs/{job_id}/results", summary="A job's results")
    def results(job: Job = Depends(own_job)) -> dict:
        folder = results_folder(job)
        doc: dict[str, Any] = {}
        for name, (title, media, _) in OUTPUTS.items():
            path = folder / _output_path(name)
            if "json" in media:
                doc[name] = {"value": json.loads(path.read_text(encoding="utf-8")), "mediaType": media}
            else:
                doc[name] = {"href": f"/jobs/{job.id}/results/{name}", "type": media, "title": title}
        doc["links"] = [
            {
                "href": f"/jobs/{job.id}/tiles/{layer}/{{z}}/{{x}}/{{y}}.png",
                "rel": "item",
                "type": "image/png",
                "title": f"{layer} tiles",
                "templated": True,
            }
            for layer in LAYERS
        ]
        return doc

    @api.get("/jobs/{job_id}/results/{output}", summary="One output's file", response_model=None)
    def result_file(output: str, job: Job = Depends(own_job)) -> FileResponse:
        if output not in OUTPUTS:
            raise Problem(
                404, "no-such-output", "No such output", f"no output {output[:40]!r}; valid: {', '.join(OUTPUTS)}"
            )
        folder = results_folder(job)
        media, name = OUTPUTS[output][1], OUTPUTS[output][2]
        return FileResponse(
            folder / _output_path(output),
            media_type=media.split(";")[0],
            filename=f"{job.id[:8]}-{name}",
            headers={"Cache-Control": "private, max-age=3600"},
        )

    @api.get("/jobs/{job_id}/tiles/{layer}/{z}/{x}/{y}.png", summary="A map tile", response_model=None)
    def tile(layer: str, z: int, x: int, y: int, job: Job = Depends(own_job)) -> Response:
        if layer not in LAYERS:
            raise Problem(404, "no-such-layer", "No such layer", f"no layer {layer[:40]!r}; valid: {', '.join(LAYERS)}")
        if not (0 <= z <= 24 and 0 <= x < 2**z and 0 <= y < 2**z):
            raise Problem(400, "invalid-input", "Invalid input", f"tile {z}/{x}/{y} does not exist")
        png = render_tile(results_folder(job), layer, z, x, y)
        if png is None:
            return Response(status_code=204)
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    api.mount(
        "/static/vendor/leaflet",
        StaticFiles(directory=_web_modules(cfg) / "node_modules" / "leaflet" / "dist", check_dir=False),
        name="leaflet",
    )
    api.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    return Guard(api, cfg.server.max_body_bytes)


def _output_path(name: str) -> str:
    """Where output ``name`` lies in a results folder (COGs at the top, assess's files in ``assess/``)."""
    file = OUTPUTS[name][2]
    return file if name in LAYERS else f"assess/{file}"
