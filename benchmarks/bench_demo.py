"""CPU time of ``landslide demo``: the whole pipeline on generated data, in a child process.

    python benchmarks/bench_demo.py [--runs 1] [--seed 0] [--passive] [--keep DIR]

Prints, per run, the child's CPU time (user + sys over all its threads, from
``resource.getrusage(RUSAGE_CHILDREN)``), its wall time, the load average over the run, and the
demo's summary: tabular (LightGBM and logistic), image and fused ROC-AUC. Target: at most 120 s
of CPU on 2 cores.

The demo runs on one thread unless ``OMP_NUM_THREADS`` is set (``landslide demo`` sets it): with
more, OpenMP's idle threads (PyTorch's, LightGBM's) spin while they wait for each other, which
on 2 quiet cores cost 142-157 s of CPU for 85-95 s of wall time, against about 100-110 s of both
on one thread. ``--passive`` runs it with ``OMP_WAIT_POLICY=PASSIVE`` (idle threads sleep at
once), which matters when ``OMP_NUM_THREADS`` asks for several threads. Take the figure when the
load stays below the number of cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_CPU_S = 120.0


def run_demo(out: Path, seed: int, passive: bool) -> tuple[float, float, dict]:
    """(CPU seconds, wall seconds, summary) of one ``landslide demo --out OUT --json`` in a child."""
    env = {**os.environ, **({"OMP_WAIT_POLICY": "PASSIVE"} if passive else {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "landslide_fusion.cli", "demo", "--out", str(out), "--seed", str(seed), "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, json.loads(done.stdout[done.stdout.index("{") :])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0, help="Seed of the first run; run i uses seed + i - 1.")
    ap.add_argument("--passive", action="store_true", help="OMP_WAIT_POLICY=PASSIVE in the demo (see above).")
    ap.add_argument("--keep", type=Path, help="Write the demo's outputs here (default: a temporary folder).")
    a = ap.parse_args()
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.runs):
            load0 = os.getloadavg()[0]
            cpu, wall, s = run_demo((a.keep or Path(tmp)) / f"demo-{i + 1}", a.seed + i, a.passive)
            load1 = os.getloadavg()[0]
            f, t = s["fusion"]["mean"], s["tabular"]
            rows.append(
                f"| {a.seed + i} | {cpu:.1f} | {wall:.1f} | {load0:.1f} -> {load1:.1f} | "
                f"{t['gbm']['roc_auc']:.3f} / {t['logistic']['roc_auc']:.3f} | {f['image']['roc_auc']:.3f} | "
                f"{f['fused']['roc_auc']:.3f} |"
            )
    print(
        f"| seed | CPU s (user + sys) | wall s | load avg ({cores} cores) | tabular ROC-AUC, GBM / logistic | "
        "image | fused |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(
        f"\nOMP_WAIT_POLICY={'PASSIVE' if a.passive else os.environ.get('OMP_WAIT_POLICY', 'default')}; "
        f"target: {TARGET_CPU_S:.0f} s of CPU per run"
    )


if __name__ == "__main__":
    main()
