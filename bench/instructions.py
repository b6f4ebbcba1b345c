"""Instructions per request of each HTTP hot path, counted by callgrind: deterministic, so usable under load.

`python -m bench.instructions [--route R ...] [--requests N]` runs `python -m bench.profile --plain` under
valgrind twice per route (N and 3N requests) and divides the difference by 2N, which cancels start-up and
set-up. Counts only this process (the app and the driver); PostgreSQL's own work is the round-trip count.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

from . import common

ROUTES = ["baseline-permit", "permit", "baseline-jira", "jira"]


def instructions(route: str, requests: int) -> int:
    with tempfile.TemporaryDirectory(prefix="seecodes-callgrind-") as folder:
        out = os.path.join(folder, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--trace-children=no",
                        common.PYTHON, "-m", "bench.profile", "--plain", "--route", route,
                        "--requests", str(requests)],
                       cwd=common.ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as handle:
            for line in handle:
                match = re.match(r"^(?:summary|totals): (\d+)", line)
                if match:
                    return int(match.group(1))
    raise RuntimeError("callgrind wrote no totals")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("--route", action="append", choices=ROUTES)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args(argv)
    for route in args.route or ROUTES:
        low, high = instructions(route, args.requests), instructions(route, 3 * args.requests)
        print(f"{route}: {(high - low) / (2 * args.requests) / 1e6:.2f} M instructions per request", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
