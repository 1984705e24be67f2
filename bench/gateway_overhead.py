"""Gateway overhead: GET /api/assets/{id} on the asset-service directly vs through the gateway.

Starts an embedded stack (PostgreSQL + Tansu on free ports), migrates the gateway and the
asset-service, runs both as uvicorn subprocesses (one worker each, uvloop + httptools, no access
log), creates a superuser/company/operator/asset through the gateway, then measures with wrk:

* saturation: ``wrk -t2 -c32`` (closed loop), 3 runs of DURATION s each per path, after a warm-up;
  prints req/s, p50/p99 and the CPU ms per request of the gateway and of the service
  (from /proc/<pid>/stat deltas / completed requests), and the throughput ratio;
* moderate load: wrk with a per-connection delay (``delay()`` in a Lua script, 4 connections paced
  to about a third of the direct saturation rate), p50/p99 of both paths and the added latency.

``BENCH_PROFILE=/tmp/gw.prof`` runs the gateway under cProfile (figures are then not representative).

Not part of ``make test``. Usage: ``.venv/bin/python bench/gateway_overhead.py [--duration 10] [--runs 3]``.
Needs ``wrk`` (``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from _common import ROOT, migrated_postgres

from gridcommons.devstack import EmbeddedBroker, free_port
from gridcommons.identity import INTERNAL_IDENTITY_HEADER, Identity, IdentitySigner, generate_ed25519_pem

CLK_TCK = os.sysconf("SC_CLK_TCK")
SUPERUSER = ("bench-root", "bench-root-Passw0rd!")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def cpu_totals() -> tuple[int, int]:
    """(total jiffies, steal jiffies) of the whole machine."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(parts), parts[7] if len(parts) > 7 else 0


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


PROFILED = """
import cProfile, contextlib, signal, sys, uvicorn, uvloop
app, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
server = uvicorn.Server(uvicorn.Config(app, factory=True, host="127.0.0.1", port=port, loop="none",
                                       http="httptools", access_log=False, log_level="warning"))
server.capture_signals = contextlib.nullcontext
signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
prof = cProfile.Profile()
prof.enable()
try:
    uvloop.run(server.serve())
finally:
    prof.disable()
    prof.dump_stats(out)
"""


def uvicorn(
    app: str, port: int, env: dict[str, str], log: Path, profile: Path | None = None
) -> subprocess.Popen[bytes]:
    if profile is not None:
        argv = [sys.executable, "-c", PROFILED, app, str(port), str(profile)]
        return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    argv = [
        sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def parse_wrk(out: str) -> dict[str, float]:
    def ms(value: str) -> float:
        m = re.match(r"([\d.]+)(us|ms|s)", value)
        assert m, value
        n = float(m.group(1))
        return {"us": n / 1000, "ms": n, "s": n * 1000}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "requests": total,
        "p50": p50,
        "p99": p99,
        "non2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def run_wrk(
    url: str, headers: dict[str, str], *, threads: int, conns: int, duration: int, pids: dict[str, int],
    script: Path | None = None,
) -> dict[str, object]:  # fmt: skip
    argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency"]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    tot0, steal0 = cpu_totals()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    tot1, steal1 = cpu_totals()
    result: dict[str, object] = dict(parse_wrk(out))
    n = max(1, int(result["requests"]))  # type: ignore[call-overload]
    for name, pid in pids.items():
        result[f"cpu_ms_{name}"] = (cpu_seconds(pid) - cpu0[name]) * 1000 / n
    result["steal_pct"] = 100 * (steal1 - steal0) / max(1, tot1 - tot0)
    return result


def med(runs: list[dict[str, object]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)  # type: ignore[arg-type]


def rng(runs: list[dict[str, object]], key: str, fmt: str = "{:.0f}") -> str:
    values = [float(r[key]) for r in runs]  # type: ignore[arg-type]
    return f"[{fmt.format(min(values))}-{fmt.format(max(values))}]"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2

    keep = bool(os.environ.get("BENCH_KEEP_LOGS"))
    with migrated_postgres("gc-bench-", ("gateway", "asset-service"), keep=keep) as (tmp, db_url):
        return measure(args, tmp, db_url)


def measure(args: argparse.Namespace, tmp: Path, db_url: str) -> int:
    broker = EmbeddedBroker(free_port(), log_path=tmp / "broker.log")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        bootstrap = broker.start()
        internal_priv, internal_pub = generate_ed25519_pem()
        token_priv, _ = generate_ed25519_pem()
        asset_port, gw_port = free_port(), free_port()
        env = os.environ | {
            "DATABASE_URL": db_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "INTERNAL_IDENTITY_PUBLIC_KEY": internal_pub,
            "GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY": internal_priv,
            "GATEWAY_TOKEN_PRIVATE_KEY": token_priv,
            "GATEWAY_BOOTSTRAP_SUPERUSER": f"{SUPERUSER[0]}:{SUPERUSER[1]}",
            "GATEWAY_UPSTREAM_ASSET_SERVICE": f"http://127.0.0.1:{asset_port}",
            "LOG_LEVEL": "WARNING",
            "GRIDCOMMONS_ROOT": str(ROOT),
        }
        asset = uvicorn("asset_service.app:create_app", asset_port, env, tmp / "asset.log")
        procs.append(asset)
        profile = Path(os.environ["BENCH_PROFILE"]).resolve() if os.environ.get("BENCH_PROFILE") else None
        gateway = uvicorn("gateway.app:create_app", gw_port, env, tmp / "gateway.log", profile)
        procs.append(gateway)
        direct_url, gw_url = f"http://127.0.0.1:{asset_port}", f"http://127.0.0.1:{gw_port}"
        wait_http(direct_url + "/healthz", asset)
        wait_http(gw_url + "/healthz", gateway)

        # --- tenant, operator and one asset, through the gateway's real API ---
        with httpx.Client(base_url=gw_url, timeout=10) as c:

            def token(username: str, password: str) -> str:
                r = c.post("/auth/token", data={"grant_type": "password", "username": username, "password": password})
                r.raise_for_status()
                return r.json()["access_token"]

            root = {"Authorization": f"Bearer {token(*SUPERUSER)}"}
            company = c.post("/api/gateway/companies", json={"name": "bench"}, headers=root).json()["id"]
            user = {"username": "bench-op", "email": "op@bench.example", "password": "Bench-Passw0rd!", "first_name": "B", "last_name": "O"}  # fmt: skip
            c.post("/auth/register", json=user).raise_for_status()
            op_token = token(user["username"], user["password"])
            user_id = c.get("/auth/info", headers={"Authorization": f"Bearer {op_token}"}).json()["id"]
            c.put(f"/api/gateway/companies/{company}/members/{user_id}", json={"role": "operator"}, headers=root).raise_for_status()  # fmt: skip
            gw_headers = {"Authorization": f"Bearer {op_token}", "CompanyID": str(company)}
            body = {"code": "bench", "name": "Bench", "type": "BESS", "region": "DE", "delivery_area": "50HZ", "provider": "ENTELIOS"}  # fmt: skip
            created = c.post("/api/assets", json=body, headers=gw_headers)
            created.raise_for_status()
            asset_id = created.json()["id"]
            assert c.get(f"/api/assets/{asset_id}", headers=gw_headers).status_code == 200

        signer = IdentitySigner(internal_priv)

        def direct_headers() -> dict[str, str]:  # a fresh 60 s internal token per run
            signer._cache.clear()
            ident = Identity(subject=str(user_id), kind="user", company_id=company, roles=frozenset({"operator"}), username="bench-op")  # fmt: skip
            return {INTERNAL_IDENTITY_HEADER: signer.sign(ident)}

        assert httpx.get(f"{direct_url}/api/assets/{asset_id}", headers=direct_headers()).status_code == 200
        pids = {"gateway": gateway.pid, "service": asset.pid}
        path = f"/api/assets/{asset_id}"
        conns, dur = args.connections, args.duration
        results: dict[str, list[dict[str, object]]] = {"direct": [], "gateway": []}
        for base, hdrs in ((direct_url, None), (gw_url, gw_headers)):
            run_wrk(base + path, hdrs or direct_headers(), threads=2, conns=conns, duration=3, pids=pids)  # warm-up
        for _ in range(args.runs):  # interleaved, so both paths see the same neighbours
            for name, base, hdrs in (("direct", direct_url, None), ("gateway", gw_url, gw_headers)):
                r = run_wrk(base + path, hdrs or direct_headers(), threads=2, conns=conns, duration=dur, pids=pids)
                results[name].append(r)

        # --- moderate load: about a third of the direct saturation rate, 4 paced connections ---
        pace_ms = max(1, round(4 * 1000 / (0.33 * med(results["direct"], "rps"))))
        script = tmp / "pace.lua"
        script.write_text(f"function delay()\n  return {pace_ms}\nend\n")
        moderate: dict[str, list[dict[str, object]]] = {"direct": [], "gateway": []}
        for _ in range(args.runs):
            for name, base, hdrs in (("direct", direct_url, None), ("gateway", gw_url, gw_headers)):
                r = run_wrk(base + path, hdrs or direct_headers(), threads=1, conns=4, duration=max(5, dur // 2), pids=pids, script=script)  # fmt: skip
                moderate[name].append(r)

        # --- report ---
        nproc = os.cpu_count()
        print(f"\ngateway_overhead: GET /api/assets/{{id}}; nproc={nproc}; python {sys.version.split()[0]}")
        print(f"saturation: wrk -t2 -c{conns} -d{dur}s, {args.runs} runs each (median [min-max])")
        print(f"{'path':8} {'req/s':>18} {'p50 ms':>16} {'p99 ms':>16} {'gw CPU ms/req':>14} {'svc CPU ms/req':>15} {'steal %':>8} {'non-2xx':>8}")  # fmt: skip
        for name, runs in results.items():
            print(
                f"{name:8} {med(runs, 'rps'):>7.0f} {rng(runs, 'rps'):>10} {med(runs, 'p50'):>6.2f} {rng(runs, 'p50', '{:.2f}'):>9}"
                f" {med(runs, 'p99'):>6.2f} {rng(runs, 'p99', '{:.1f}'):>9} {med(runs, 'cpu_ms_gateway'):>14.3f}"
                f" {med(runs, 'cpu_ms_service'):>15.3f} {med(runs, 'steal_pct'):>8.1f} {sum(int(r['non2xx']) for r in runs):>8}"  # type: ignore[call-overload]
            )  # fmt: skip
        ratio = med(results["gateway"], "rps") / med(results["direct"], "rps")
        print(f"throughput ratio gateway/direct: {ratio:.2f}x (target >= 0.6x)")
        print(f"gateway CPU per proxied request: {med(results['gateway'], 'cpu_ms_gateway'):.3f} ms (target <= 0.5 ms)")
        print(f"moderate load: wrk -t1 -c4 with delay() {pace_ms} ms per connection (~1/3 of direct capacity)")
        for name, runs in moderate.items():
            print(
                f"{name:8} {med(runs, 'rps'):>7.0f} req/s  p50 {med(runs, 'p50'):.2f} ms {rng(runs, 'p50', '{:.2f}')}"
                f"  p99 {med(runs, 'p99'):.2f} ms  gw CPU {med(runs, 'cpu_ms_gateway'):.3f} ms/req  steal {med(runs, 'steal_pct'):.1f} %"
            )  # fmt: skip
        added = med(moderate["gateway"], "p50") - med(moderate["direct"], "p50")
        print(f"p50 added latency at moderate load: {added:.2f} ms (target <= 2 ms)")
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        broker.stop()


if __name__ == "__main__":
    sys.exit(main())
