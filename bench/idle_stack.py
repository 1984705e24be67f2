"""CPU of an idle ``make run`` stack: every process (APIs, workers, PostgreSQL, broker, supervisor).

    .venv/bin/python bench/idle_stack.py [--settle 20] [--window 60] [--runs 1]

Starts the stack as ``make run`` does (scratch data folder, free ports, demo tenant loaded), waits
``--settle`` seconds for start-up work to finish (topic creation, group joins, catch-up of the
replicas consumers), then samples each process's CPU time (utime + stime from ``/proc/<pid>/stat``,
children summed into their service) over ``--window`` seconds. Prints % of one core per process
and the total.
"""

from __future__ import annotations

import argparse
import time

from _stack import cpu_by_process, running_stack, steal_and_load


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settle", type=float, default=20)
    parser.add_argument("--window", type=float, default=60)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    with running_stack(keep=args.keep) as stack:
        print(f"stack up ({steal_and_load()}); settling {args.settle:.0f}s", flush=True)
        time.sleep(args.settle)
        for run in range(1, args.runs + 1):
            print(f"run {run}: sampling {args.window:.0f}s ({steal_and_load()})", flush=True)
            usage = cpu_by_process(stack.proc.pid, args.window)
            for name, pct in usage.items():
                print(f"  {name:<32} {pct:6.2f} % of one core")
            print(f"  {'TOTAL':<32} {sum(usage.values()):6.2f} % of one core  ({steal_and_load()})", flush=True)


if __name__ == "__main__":
    main()
