"""CPU time of every step of the README's quickstart, run as written in a scratch folder.

    python benchmarks/bench_quickstart.py [--passive] [--only segment]

Reads the first ``bash`` block under "## Quickstart" in README.md, joins ``\\``-continued lines,
and runs each ``landslide`` command in order under ``/usr/bin/time -v`` (``configs/`` is linked
into the scratch folder), printing the CPU time (user + sys over all threads) and wall time of
each. A failing step stops the walk and prints its error: the README's commands must run as
written. ``--only WORD`` times only the commands that contain WORD (the others still run).
``--passive``: ``OMP_WAIT_POLICY=PASSIVE``, see ``bench_demo.py`` (on a busy machine, idle
OpenMP threads spin and inflate CPU time).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quickstart_commands(readme: Path = ROOT / "README.md") -> list[str]:
    """The ``landslide ...`` commands of the README's quickstart block, continuations joined."""
    text = readme.read_text(encoding="utf-8")
    block = text[text.index("## Quickstart") :].split("```bash\n", 1)[1].split("```", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("landslide ")]


def timed(command: str, cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``command`` from ``/usr/bin/time -v``; raises on failure."""
    done = subprocess.run(
        ["/usr/bin/time", "-v", "bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"failed ({done.returncode}): {command}\n{done.stderr[-3000:]}")
    field = {k.strip(): v.strip() for k, _, v in (line.partition(": ") for line in done.stderr.splitlines())}
    wall = field["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")
    seconds = sum(float(x) * 60**i for i, x in enumerate(reversed(wall)))
    return float(field["User time (seconds)"]) + float(field["System time (seconds)"]), seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passive", action="store_true", help="OMP_WAIT_POLICY=PASSIVE (see bench_demo.py).")
    ap.add_argument("--only", default="", help="Time only the commands containing this word.")
    a = ap.parse_args()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    if a.passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| CPU s | wall s | command |\n|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "configs").symlink_to(ROOT / "configs")
        for command in quickstart_commands():
            cpu, wall = timed(command, Path(tmp), env)
            if a.only in command:
                print(f"| {cpu:.0f} | {wall:.0f} | `{command[:110]}` |", flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
