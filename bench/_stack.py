"""A whole ``make run`` stack for the benchmarks: ``python -m gridcommons.stack run`` in a scratch
data folder on free ports, its processes and their CPU time (``/proc/<pid>/stat``)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gridcommons.devstack import free_port, remove_tree
from gridcommons.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")
STRIPPED = (
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "INTERNAL_IDENTITY_PUBLIC_KEY",
    "GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY",
    "GATEWAY_TOKEN_PRIVATE_KEY",
    "TOKEN_PUBLIC_KEY",
)


@dataclass
class Stack:
    proc: subprocess.Popen[str]
    ports: dict[str, int]
    kafka: str
    database_url: str = ""
    company_id: str = ""
    env: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, CPU ticks user+system, command name) of a process, None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw.rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), name


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def descendants(root: int) -> dict[int, int]:
    """Every process below ``root`` (and ``root``): pid -> its parent pid."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None:
                parents[int(entry.name)] = st[0]
    found = {root: 0}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found[pid] = ppid
                changed = True
    return found


def label(pid: int, root: int, tree: dict[int, int]) -> str:
    """A readable name for a stack process: the service, its worker, postgres, broker, supervisor."""
    if pid == root:
        return "make run supervisor"
    # climb to the direct child of the supervisor
    top = pid
    while tree.get(top, 0) not in (root, 0):
        top = tree[top]
    cmd = _cmdline(top)
    if "gridcommons.worker" in cmd:
        return cmd.split("gridcommons.worker", 1)[1].strip().split(".", 1)[0].replace("_", "-") + " worker"
    if "uvicorn" in cmd:
        m = re.search(r"uvicorn (\S+)", cmd)
        return (m.group(1).split(".", 1)[0].replace("_", "-") if m else "uvicorn") + " (API)"
    if "postgres" in cmd:
        return "postgresql (all backends)"
    if "tansu" in cmd:
        return "broker (tansu)"
    return cmd[:40]


def cpu_ticks(root: int) -> dict[int, tuple[str, int]]:
    tree = descendants(root)
    out = {}
    for pid in tree:
        st = _stat(pid)
        if st is not None:
            out[pid] = (label(pid, root, tree), st[1])
    return out


def cpu_by_process(root: int, seconds: float) -> dict[str, float]:
    """% of one core per stack process (summed over its children) over ``seconds``.

    A process that started during the window counts from zero; one that ended is counted up to its
    last sample (short-lived processes' time is partly missed: the embedded stack has none at idle)."""
    before = cpu_ticks(root)
    t0 = time.monotonic()
    last = dict(before)
    deadline = t0 + seconds
    while time.monotonic() < deadline:
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        for pid, value in cpu_ticks(root).items():
            last[pid] = value
    elapsed = time.monotonic() - t0
    usage: dict[str, float] = {}
    for pid, (name, ticks) in last.items():
        start = before.get(pid, (name, 0))[1]
        usage[name] = usage.get(name, 0.0) + (ticks - start) / CLK_TCK / elapsed * 100
    return dict(sorted(usage.items()))


def steal_and_load() -> str:
    load = os.getloadavg()
    return f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}, nproc {os.cpu_count()}"


@contextmanager
def running_stack(*, keep: bool = False, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """``make run`` in a scratch folder; stopped (SIGINT) and removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="gc-bench-stack-"))
    os.chmod(tmp, 0o755)
    env = {k: v for k, v in os.environ.items() if k not in STRIPPED}
    kafka_port = free_port()
    if "KAFKA_BOOTSTRAP_SERVERS" in os.environ:
        raise SystemExit("the stack benchmarks start their own embedded broker: unset KAFKA_BOOTSTRAP_SERVERS")
    env |= {
        "GRIDCOMMONS_DATA_DIR": str(tmp / "data"),
        "GC_POSTGRES_PORT": str(free_port()),
        "GC_KAFKA_PORT": str(kafka_port),
        "GC_START_TIMEOUT": "300",  # a busy shared machine
    } | (extra_env or {})
    ports = {}
    for entry in load_registry(ROOT):
        ports[entry.name] = free_port()
        env[entry.port_env] = str(ports[entry.name])
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridcommons.stack", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: a stop that times out kills every child too
    )
    stack = Stack(proc, ports, f"127.0.0.1:{kafka_port}", env=env)
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            stack.lines.append(line)
            if "Press Ctrl-C to stop." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 300
        while not ready.wait(0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("stack did not come up:\n" + "".join(stack.lines))
        out = "".join(stack.lines)
        m = re.search(r"CompanyID=(\d+)", out)
        stack.company_id = m.group(1) if m else ""
        m = re.search(r"PostgreSQL\s+(postgresql\S+)", out)
        stack.database_url = m.group(1) if m else ""
        yield stack
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(180)  # stopping some twenty processes takes long on a loaded machine
        except subprocess.TimeoutExpired:
            # killing only the parent would orphan the services, workers and broker it started
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if keep:
            print(f"data and logs kept in {tmp}")
        else:
            remove_tree(tmp)
