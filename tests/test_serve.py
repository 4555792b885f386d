"""``landslide serve`` over HTTP: a real server process (uvicorn, SQLite, local worker pool) in
front of the local STAC API, a tiny run registered as a bundle, keys made as the CLI makes them."""

from __future__ import annotations

import glob
import io
import json
import os
import signal
import socket
import threading
import time

import numpy as np
import pytest
import rasterio

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
pytest.importorskip("rio_tiler")
httpx = pytest.importorskip("httpx")

from tests.serve_server import Client, make_key, start_serve, write_serve_config  # noqa: E402
from tests.stac_catalog import free_port  # noqa: E402
from tests.test_stac_fetch import generated_box  # noqa: E402

DATE = "2024-08-01/2024-08-31"


@pytest.fixture(scope="module")
def service(stac_generated, tiny_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    silent = socket.socket()  # accepts connections, never answers: a job searching it hangs
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    cfg = write_serve_config(
        folder,
        {"tiny": {"run": str(tiny_run), "description": "1-epoch test run"}},
        {
            "local": stac_generated.url,
            "down": "http://127.0.0.1:9",
            "silent": f"http://127.0.0.1:{silent.getsockname()[1]}",
        },
        queue=4,
    )
    server = start_serve(cfg, free_port())
    server.run = tiny_run  # type: ignore[attr-defined]
    server.alice = Client(server.url, make_key(cfg, "alice"))  # type: ignore[attr-defined]
    server.bob = Client(server.url, make_key(cfg, "bob"))  # type: ignore[attr-defined]
    yield server
    server.stop()
    silent.close()


def box() -> list[float]:
    return [float(v) for v in generated_box().split(",")]


def test_job_runs_assess_and_serves_its_results(service):
    alice = service.alice
    r = alice.submit(bbox=box(), date=DATE, bundle="tiny", grid_m=100, place="test valley")
    assert r.status_code == 201, r.text
    job = r.json()
    assert r.headers["location"] == f"/jobs/{job['jobID']}" and job["status"] in ("accepted", "running")
    done = alice.wait(job["jobID"])
    assert done["status"] == "successful", done["message"]
    assert done["progress"] == 100 and done["message"].startswith("done: ")
    res = alice.http.get(f"/jobs/{job['jobID']}/results").json()
    risk = res["risk"]["value"]
    assert risk["type"] == "FeatureCollection" and len(risk["features"]) > 0
    assert {"risk_score", "risk_class"} <= set(risk["features"][0]["properties"])
    assert res["landslides"]["value"]["type"] == "FeatureCollection"
    assert res["summary"]["value"]["regions"] == len(risk["features"])
    for name in ("probability", "composite"):
        f = alice.http.get(res[name]["href"])
        assert f.status_code == 200 and f.headers["content-type"] == "image/tiff"
        with rasterio.MemoryFile(f.content) as mem, mem.open() as src:
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG" and src.crs is not None
        part = alice.http.get(res[name]["href"], headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and len(part.content) == 100  # COG readers fetch windows
    # a tile over the box: PNG with some opaque pixels
    from PIL import Image

    w, s, e, n = box()
    z = 15
    x = int((w + e) / 2 / 360 * 2**z + 2 ** (z - 1))
    lat = np.radians((s + n) / 2)
    y = int((1 - np.log(np.tan(lat) + 1 / np.cos(lat)) / np.pi) / 2 * 2**z)
    t = alice.http.get(f"/jobs/{job['jobID']}/tiles/composite/{z}/{x}/{y}.png")
    assert t.status_code == 200 and t.headers["content-type"] == "image/png"
    assert np.asarray(Image.open(io.BytesIO(t.content)).convert("RGBA"))[..., 3].max() == 255
    # the same request again: the finished job's results, not a new computation
    again = alice.submit(bbox=box(), date=DATE, bundle="tiny", grid_m=100, place="test valley")
    assert again.status_code == 200 and again.json()["jobID"] == job["jobID"]
    other = service.bob.submit(bbox=box(), date=DATE, bundle="tiny", grid_m=100)
    assert other.status_code == 201 and other.json()["status"] == "successful" and other.json()["reused"]
    assert service.bob.http.get(f"/jobs/{other.json()['jobID']}/results").json()["risk"]["value"] == risk


def _problem(r: httpx.Response, status: int, words: str) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    doc = r.json()
    assert doc["status"] == status and doc["title"] and words in doc["detail"], doc
    return doc


def test_failures_are_reported_and_the_server_stays_up(service):
    """The catalog unreachable (fails at the search) and regions without ids (fails midway, after
    the fetch and the prediction): each job says why; the server answers on."""
    alice = service.alice
    down = alice.submit(bbox=box(), date=DATE, bundle="tiny", catalog="down")
    assert down.status_code == 201, down.text
    regions = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "no id"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]]],
                },
            }
            for b in [box()]
        ],
    }
    midway = alice.submit(bbox=box(), date=DATE, bundle="tiny", regions=regions)
    assert midway.status_code == 201, midway.text
    s = alice.wait(down.json()["jobID"])
    assert s["status"] == "failed" and "cannot be reached" in s["message"], s
    s = alice.wait(midway.json()["jobID"])
    assert s["status"] == "failed" and "no 'id'" in s["message"], s
    _problem(alice.http.get(f"/jobs/{down.json()['jobID']}/results"), 409, "cannot be reached")
    assert httpx.get(service.url + "/health").json()["status"] == "ok"
    # another key sees none of it
    for method in ("GET", "DELETE"):
        _problem(service.bob.http.request(method, f"/jobs/{down.json()['jobID']}"), 404, "no job")
    _problem(service.bob.http.get(f"/jobs/{down.json()['jobID']}/results"), 404, "no job")
    assert down.json()["jobID"] not in {j["jobID"] for j in service.bob.http.get("/jobs").json()["jobs"]}
    assert down.json()["jobID"] in {j["jobID"] for j in alice.http.get("/jobs").json()["jobs"]}


def test_a_job_whose_process_dies_fails_with_the_reason(service):
    """A job hanging on a silent catalog; its worker process is killed (as the OOM killer would):
    the job fails saying so, and the server goes on."""
    alice = service.alice
    job = alice.submit(bbox=box(), date=DATE, bundle="tiny", catalog="silent").json()["jobID"]
    alice.wait(job, until=("running",))
    deadline = time.time() + 120
    while not (procs := [p for p, d in _descendants(service.process.pid).items() if d == 2]):
        assert time.time() < deadline, "no job process"
        time.sleep(0.05)
    os.kill(procs[0], signal.SIGKILL)
    s = alice.wait(job)
    assert s["status"] == "failed" and "killed (SIGKILL)" in s["message"], s
    assert httpx.get(service.url + "/health").json() == {"status": "ok", "accepted": 0, "running": 0}


@pytest.mark.parametrize(
    "change, status, words",
    [
        ({"bbox": [92.1, 22.4, 92.0, 22.5]}, 400, "must be less than east"),
        ({"date": "2099-01-01"}, 400, "in the future"),
        ({"date": "2024-01-01/2024-08-31"}, 403, "more than this key's limit of 62"),
        ({"bbox": [91.0, 22.0, 91.5, 22.5]}, 403, "more than this key's limit of 5 km^2"),
        ({"bundle": "nope"}, 400, "bundle 'nope' is not registered; valid: tiny"),
        ({"catalog": "elsewhere"}, 400, "catalog 'elsewhere' is not configured; valid: local, down, silent"),
        ({"grid_m": 5}, 400, "must be at least 20"),
        ({"bbox": [1, 2, 3]}, 400, "must be four finite numbers"),
        ({"path": "/etc/passwd"}, 400, "inputs.path"),
    ],
)
def test_bad_requests_are_refused_with_problem_details(service, change, status, words):
    inputs = {"bbox": box(), "date": DATE, "bundle": "tiny", **change}
    _problem(service.alice.submit(**inputs), status, words)


def test_keys_ids_bodies_and_routes_are_checked(service):
    anon = Client(service.url, None)
    r = anon.submit(bbox=box(), date=DATE, bundle="tiny")
    _problem(r, 401, "Authorization: Bearer")
    assert r.headers["www-authenticate"].startswith("Bearer")
    _problem(Client(service.url, "lsk_forged").submit(bbox=box(), date=DATE, bundle="tiny"), 401, "not a valid key")
    alice = service.alice
    _problem(alice.http.get("/jobs/" + "0" * 32), 404, "no job")
    _problem(alice.http.get("/jobs/..%2F..%2Fetc%2Fpasswd/results"), 404, "")
    _problem(alice.http.get("/jobs/not-an-id"), 404, "no job")
    _problem(
        alice.http.post("/processes/nope/execution", json={"inputs": {"bbox": box(), "date": DATE, "bundle": "tiny"}}),
        404,
        "no process",
    )
    big = {"inputs": {"bbox": box(), "date": DATE, "bundle": "tiny", "place": "x" * 2_000_000}}
    _problem(alice.http.post("/processes/assess/execution", json=big), 413, "larger than this server's limit")

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"inputs": {"place": "'
        for _ in range(30):
            yield b"x" * 65536
        yield b'"}}'

    _problem(
        alice.http.post("/processes/assess/execution", content=chunks(), headers={"Content-Type": "application/json"}),
        413,
        "larger than this server's limit",
    )
    _problem(
        alice.http.post(
            "/processes/assess/execution", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        400,
        "",
    )
    cross = alice.http.get("/processes", headers={"Origin": "http://elsewhere.test"})
    assert "access-control-allow-origin" not in cross.headers  # CORS closed unless configured
    assert alice.http.get("/openapi.json").json()["paths"]["/processes/{process_id}/execution"]["post"]
    d = alice.http.get("/processes/assess").json()
    assert d["inputs"]["bundle"]["schema"]["enum"] == ["tiny"] and str(service.run) not in json.dumps(d)


def test_full_queue_and_busy_key_are_refused(service):
    """workers = 1, queue = 4: a key allowed one job gets 429 for its second; a key allowed 10
    gets 503 once 4 jobs wait, and what is refused is not queued. All dismissed afterwards."""
    dave = Client(service.url, make_key(service.config, "dave", max_concurrent=1))
    carol = Client(service.url, make_key(service.config, "carol", max_concurrent=10))
    first = dave.submit(bbox=box(), date=DATE, bundle="tiny", grid_m=300)
    assert first.status_code == 201, first.text
    r = _problem(dave.submit(bbox=box(), date=DATE, bundle="tiny", grid_m=310), 429, "its limit is 1")
    ids, codes = [], []
    for i in range(6):  # distinct requests (grid sizes), so none is answered by another
        r = carol.submit(bbox=box(), date=DATE, bundle="tiny", grid_m=200 + 10 * i)
        codes.append(r.status_code)
        if r.status_code == 201:
            ids.append(r.json()["jobID"])
        else:
            _problem(r, 503, "the queue holds 4")
            assert int(r.headers["retry-after"]) > 0
        assert httpx.get(service.url + "/health").json()["accepted"] <= 4
    # accepted until full, then refused; a job that ends meanwhile frees a place, so a later
    # request may be accepted again (dave's first job finished between two of these once)
    assert codes[:3] == [201, 201, 201] and 503 in codes, codes
    # a bounded load while the queue is full: 4 clients x 25 status calls, all answered
    latencies: list[float] = []

    def poll(client: Client) -> None:
        for i in range(25):
            t0 = time.perf_counter()
            client.status(ids[i % len(ids)])  # raises unless 200
            latencies.append(time.perf_counter() - t0)

    pollers = [
        threading.Thread(target=poll, args=(Client(service.url, carol.http.headers["authorization"][7:]),))
        for _ in range(4)
    ]
    for t in pollers:
        t.start()
    for t in pollers:
        t.join()
    assert len(latencies) == 100 and np.percentile(latencies, 95) < 5.0  # all answered; seconds, on a busy machine
    for jid in ids:
        assert carol.http.delete(f"/jobs/{jid}").json()["status"] == "dismissed"
    assert dave.http.delete(f"/jobs/{first.json()['jobID']}").json()["status"] == "dismissed"
    assert httpx.get(service.url + "/health").json()["accepted"] == 0


def _descendants(pid: int) -> dict[int, int]:
    """Every process below ``pid`` (from /proc), with its depth (1 = a child)."""
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = open(stat).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    found, todo = {}, [(pid, 0)]
    while todo:
        parent, depth = todo.pop()
        for c in children.get(parent, []):
            found[c] = depth + 1
            todo.append((c, depth + 1))
    return found


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow  # two server starts, each importing the assess path in its fork server: ~30 s on a quiet machine
def test_kill_9_during_a_job_then_restart(stac_generated, tiny_run, tmp_path):
    """The server is killed (SIGKILL) while a job runs: its job processes exit with it, nothing is
    half written, and the restarted server runs the job again to the end; none stays running."""
    from tests.conftest import debris

    cfg = write_serve_config(tmp_path, {"tiny": {"run": str(tiny_run)}}, {"local": stac_generated.url})
    server = start_serve(cfg, free_port())
    client = Client(server.url, make_key(cfg, "k"))
    try:
        job = client.submit(bbox=box(), date=DATE, bundle="tiny", grid_m=150).json()["jobID"]
        client.wait(job, until=("running",))
        deadline = time.time() + 120  # claimed; its process starts once the fork server has imported
        while not [p for p, depth in _descendants(server.process.pid).items() if depth == 2]:
            assert time.time() < deadline, "no job process below the server's fork server"
            time.sleep(0.05)
        time.sleep(np.random.default_rng(25).uniform(0.1, 1.0))  # a seeded moment of the run
        jobs = [p for p, d in _descendants(server.process.pid).items() if d == 2]  # server -> fork server -> job
        server.kill9()
    finally:
        server.stop()
    deadline = time.time() + 15
    while any(_running(p) for p in jobs) and time.time() < deadline:
        time.sleep(0.1)
    assert not [p for p in jobs if _running(p)], "job processes outlived their server"
    folder = tmp_path / "data" / "jobs" / job
    assert not (folder / "results").exists() or (folder / "results" / "job.json").is_file()  # whole or absent
    again = start_serve(cfg, free_port())
    try:
        client = Client(again.url, client.http.headers["authorization"].split()[1])
        done = client.wait(job)
        assert done["status"] == "successful", done
        assert client.http.get(f"/jobs/{job}/results").json()["risk"]["value"]["features"]
        assert httpx.get(again.url + "/health").json()["running"] == 0
    finally:
        again.stop()
    assert debris(folder) == []


def test_web_map_shows_the_risk_where_the_regions_are(service, tmp_path):
    """Debian's headless Chromium opens the page, submits a box, waits for the job and reads the
    map's pixels: inside each region the colour is its risk class's, blended over the composite
    at the page's fill opacity; outside the regions nothing changes when the risk layer is on."""
    import shutil

    from PIL import Image

    from landslide_fusion.serve.app import WEB_DIR

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e '.[dev]')")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    if not (WEB_DIR / "node_modules" / "leaflet" / "dist" / "leaflet.js").is_file():
        pytest.skip(f"the map library is not installed: npm ci in {WEB_DIR} (make setup does it when node is present)")
    token = make_key(service.config, "browser")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 720})
            page.goto(service.url + "/")
            page.wait_for_function("document.querySelectorAll('#bundle option').length > 0")
            page.fill("#key", token)
            page.dispatch_event("#key", "change")
            page.fill("#bbox", ",".join(f"{v:.6f}" for v in box()))
            page.fill("#date", DATE)
            page.fill("#grid", "100")
            page.click("#submit")
            page.wait_for_selector("body[data-state=shown]", timeout=240_000)
            page.wait_for_timeout(300)
            job = page.evaluate("document.body.dataset.job")
            shot = tmp_path / "map.png"
            page.screenshot(path=str(shot))
            on = np.asarray(Image.open(shot).convert("RGB")).astype(float)
            page.click("#show-risk")
            page.wait_for_timeout(200)
            off = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(float)
            alpha = page.evaluate("landslideView.riskOpacity")
            offset = page.evaluate(
                "(() => { const r = document.getElementById('map').getBoundingClientRect(); "
                "return [r.left, r.top]; })()"
            )
            features = service.alice.http.get("/processes/assess").json()  # legend, as the page reads it
            legend = features["outputs"]["risk"]["legend"]
            risk = Client(service.url, token).http.get(f"/jobs/{job}/results").json()["risk"]["value"]["features"]
            checked = 0
            for f in risk:
                ring = np.asarray(f["geometry"]["coordinates"][0][:-1], float)
                pts = (
                    np.array(
                        [
                            page.evaluate(
                                "([lat, lon]) => { const p = landslideView.map."
                                "latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
                                [lat, lon],
                            )
                            for lon, lat in ring
                        ]
                    )
                    + offset
                )
                if np.ptp(pts[:, 0]) < 12 or np.ptp(pts[:, 1]) < 12:
                    continue  # a sliver at the scene's edge
                x, y = np.round(pts.mean(0)).astype(int)
                colour = np.array([int(legend[f["properties"]["risk_class"]][i : i + 2], 16) for i in (1, 3, 5)])
                seen = (on[y, x] - (1 - alpha) * off[y, x]) / alpha
                assert np.abs(seen - colour).max() < 14, (f["properties"], seen, colour)
                checked += 1
            assert checked >= 3
            corner = (int(offset[1]) + 5, int(offset[0]) + 5)  # the map's corner, outside every region
            assert np.abs(on[corner] - off[corner]).max() < 2
        finally:
            browser.close()
    target = os.environ.get("LANDSLIDE_SCREENSHOT_TO")
    if target:  # docs/serve-map.png is made this way
        shutil.copyfile(shot, target)
