"""Start-up time of the command line beside a bare Python, same machine, same minute.

    python benchmarks/bench_startup.py [--repeat 9]

Runs ``python -c pass`` and ``landslide --help`` (and a sub-app's help and a refused argument)
in fresh processes, interleaved so that a change of machine load hits all of them alike, after
one warm-up round (warm: the files are in the page cache). Prints each median and its ratio to
``python -c pass``. The ratio is the figure to compare between machines; the seconds hold only
for the machine and load they were measured on.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "landslide --help": ["--help"],
    "landslide segment --help": ["segment", "--help"],
    "landslide segment predict --tta d8 (refused)": [
        "segment",
        "predict",
        "--run",
        "r",
        "-i",
        "x",
        "-o",
        "o",
        "--tta",
        "d8",
    ],
}


def landslide() -> list[str]:
    """The installed ``landslide`` script beside this Python, or ``python -m landslide_fusion.cli``."""
    script = Path(sys.executable).with_name("landslide")
    found = str(script) if script.exists() else shutil.which("landslide")
    return [found] if found else [sys.executable, "-m", "landslide_fusion.cli"]


def seconds(argv: list[str]) -> float:
    """Wall-clock seconds of one run of ``argv`` (its output discarded)."""
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs of each command (median reported)")
    args = parser.parse_args()
    argvs = {
        name: ([sys.executable] if name.startswith("python") else landslide()) + rest for name, rest in COMMANDS.items()
    }
    times: dict[str, list[float]] = {name: [] for name in argvs}
    for round_ in range(args.repeat + 1):
        for name, argv in argvs.items():
            t = seconds(argv)
            if round_:  # round 0 warms the page cache
                times[name].append(t)
    base = statistics.median(times["python -c pass"])
    print(f"{'command':<48}{'median s':>10}{'x python -c pass':>18}")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:<48}{m:>10.3f}{m / base:>18.1f}")
    print(f"({args.repeat} interleaved runs each after one warm-up round; {' '.join(landslide())})")


if __name__ == "__main__":
    main()
