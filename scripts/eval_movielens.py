"""The MovieLens-100K evaluation as the README shows it: every user, every method, one run.

    .venv/bin/python scripts/eval_movielens.py [--users N] [--seed S] [--method NAME ...] [--require-best]

The same as `shieldrec eval` (same options), plus the machine it ran on and the wall time,
so a figure in the README can be reproduced and compared. Needs the recbole 1.2.1 wheel:
    .venv/bin/pip install --no-deps recbole==1.2.1
"""

from __future__ import annotations

import os
import platform
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from shieldrec.cli import cli  # noqa: E402


def main() -> int:
    args = ["eval", *sys.argv[1:]]
    print(f"$ shieldrec {' '.join(args)}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    started = time.perf_counter()
    try:
        cli.main(args=args, prog_name="shieldrec", standalone_mode=True)
    except SystemExit as done:
        print(f"\nwall time: {time.perf_counter() - started:.0f}s", file=sys.stderr)
        return int(done.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
