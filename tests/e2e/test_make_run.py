"""Boot the real processes exactly as `make run` does and call the gateway over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from gridcommons.devstack import free_port, port_open
from gridcommons.registry import load_registry

pytestmark = pytest.mark.e2e

STRIPPED = (
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "INTERNAL_IDENTITY_PUBLIC_KEY",
    "GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY",
    "GATEWAY_TOKEN_PRIVATE_KEY",
    "TOKEN_PUBLIC_KEY",
)


class RunningStack:
    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gridcommons.stack", "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if "Press Ctrl-C to stop." in line:
                self.ready.set()

    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.5):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"stack did not come up:\n{self.output()}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"stack did not stop on SIGINT:\n{self.output()}")


def _request(
    method: str, url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, object]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _token(gateway: str, username: str, password: str) -> str:
    form = urllib.parse.urlencode({"grant_type": "password", "username": username, "password": password}).encode()
    status, body = _request(
        "POST", f"{gateway}/auth/token", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200, body
    assert isinstance(body, dict)
    return str(body["access_token"])


def _ingest_status_over_kafka(gateway: str, bootstrap: str, asset_id: str) -> None:
    from aiokafka import AIOKafkaProducer

    form = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": "demo-device", "client_secret": "demo-device-secret"}
    ).encode()
    status, token = _request(
        "POST", f"{gateway}/auth/token", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200 and isinstance(token, dict), token
    value = json.dumps(
        {"statuses": [{"asset_id": asset_id, "status": "LIMITED", "effective_at": "2026-01-05T10:00:00Z"}]}
    ).encode()

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                "ingest.asset-statuses.v1",
                value=value,
                headers=[("authorization", f"Bearer {token['access_token']}".encode())],
            )
        finally:
            await producer.stop()

    asyncio.run(send())


def _wait_status(gateway: str, headers: dict[str, str], asset_id: str, effective_at: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status, body = _request("GET", f"{gateway}/api/assets/{asset_id}/status", headers=headers)
        if status == 200 and isinstance(body, dict) and body["effective_at"] == effective_at:
            assert body["status"] == "LIMITED"
            return
        assert time.monotonic() < deadline, (status, body)
        time.sleep(0.3)


def test_make_run_boots_everything_and_stops_cleanly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in STRIPPED}
    pg_port, kafka_port = free_port(), free_port()
    env |= {
        "GRIDCOMMONS_DATA_DIR": str(tmp_path / "data"),
        "GC_POSTGRES_PORT": str(pg_port),
        "GC_KAFKA_PORT": str(kafka_port),
    }
    ports = {}
    for entry in load_registry():
        ports[entry.name] = free_port()
        env[entry.port_env] = str(ports[entry.name])
    gateway = f"http://127.0.0.1:{ports['gateway']}"

    for run in (1, 2):  # the second run reuses the data directory: demo loading is idempotent
        stack = RunningStack(env)
        try:
            stack.wait_ready()
            out = stack.output()
            assert gateway in out and "demo-operator" in out
            company_id = re.search(r"CompanyID=(\d+)", out)
            assert company_id, out
            headers = {
                "Authorization": f"Bearer {_token(gateway, 'demo-operator', 'demo-operator-pass')}",
                "CompanyID": company_id.group(1),
            }
            status, body = _request("GET", f"{gateway}/api/assets", headers=headers)
            assert status == 200, body
            assert isinstance(body, dict)
            assert sorted(a["code"] for a in body["assets"]) == ["DK", "KR", "WU"], f"run {run}: {body}"
            status, scenarios = _request("GET", f"{gateway}/api/community/scenarios", headers=headers)
            assert status == 200 and isinstance(scenarios, dict), scenarios
            names = sorted(s["name"] for s in scenarios["scenarios"])
            assert names == ["HIGH_PRIORITY", "LOW_PRIORITY"], f"run {run}: {names}"
            # the demo meter's two series, each with one day of quarter-hour readings (a rerun adds none)
            status, listed = _request("GET", f"{gateway}/api/metering/series", headers=headers)
            assert status == 200 and isinstance(listed, dict), listed
            demo_series = [s for s in listed["series"] if not s["external_key"].startswith("host:")]
            assert sorted(s["unit"] for s in demo_series) == ["W", "kWh"], f"run {run}: {listed}"
            for series in demo_series:
                url = f"{gateway}/api/metering/series/{series['id']}/readings?limit=1000"
                status, page = _request("GET", url, headers=headers)
                assert status == 200 and isinstance(page, dict) and len(page["readings"]) >= 96, page
            # the member reads, a different company is refused, a direct call without the gateway is 401
            member = {
                "Authorization": f"Bearer {_token(gateway, 'demo-member', 'demo-member-pass')}",
                "CompanyID": company_id.group(1),
            }
            assert _request("GET", f"{gateway}/api/assets", headers=member)[0] == 200
            # the demo registry: the operator's outline, and the member's (the resident of north/E001)
            status, staff = _request("GET", f"{gateway}/api/staff/community/outline", headers=headers)
            assert status == 200, staff
            assert isinstance(staff, dict)
            clusters = staff["communities"]["demo_community"]["clusters"]
            assert {k: list(v["units"]) for k, v in clusters.items()} == {
                "north": ["E001", "E002"],
                "south": ["E003", "E004", "E005"],
            }
            status, mine = _request("GET", f"{gateway}/api/resident/community/outline", headers=member)
            assert status == 200, mine
            assert isinstance(mine, dict)
            assert list(mine["communities"]["demo_community"]["clusters"]) == ["north"]
            assert list(mine["communities"]["demo_community"]["clusters"]["north"]["units"]) == ["E001"]
            # the demo meter registry: the member's host on the simulated SDM630, polled by the worker
            deadline = time.monotonic() + 90
            while True:
                status, hosts = _request("GET", f"{gateway}/user/hosts", headers=member)
                assert status == 200 and isinstance(hosts, list) and len(hosts) == 1, hosts
                if hosts[0]["status"] == "ok" or time.monotonic() > deadline:
                    break
                time.sleep(1)
            assert hosts[0]["status"] == "ok", hosts
            status, assigned = _request("GET", f"{gateway}/user/hosts/{hosts[0]['id']}/measurements", headers=member)
            assert status == 200 and isinstance(assigned, list) and len(assigned) == 4, assigned
            power = next(a for a in assigned if a["measurement"] == "active_power")
            url = f"{gateway}/api/metering/series/{power['series_id']}/readings"
            status, page = _request("GET", url, headers=headers)
            assert status == 200 and isinstance(page, dict) and page["readings"], page
            assert _request("GET", f"{gateway}/api/assets", headers={**member, "CompanyID": "999999"})[0] == 403
            assert _request("GET", f"http://127.0.0.1:{ports['asset-service']}/api/assets", headers=headers)[0] == 401
            for name, port in ports.items():
                assert _request("GET", f"http://127.0.0.1:{port}/readyz")[0] == 200, name
            if run == 1:
                # the embedded broker says it is loopback-only; the Kafka ingestion door takes the
                # demo device's client_credentials token and the company from it
                assert "loopback only, no authentication" in out
                asset_id = body["assets"][0]["id"]
                _ingest_status_over_kafka(gateway, f"127.0.0.1:{kafka_port}", asset_id)
                _wait_status(gateway, member, asset_id, "2026-01-05T10:00:00Z")
                # the monitoring jobs (a pass a minute) open failures in the demo cluster
                _wait_open_failure(gateway, headers)
                # ... and notify them: the e-mail reaches the stack's mail sink
                _wait_failure_mail(tmp_path / "data" / "mail")
        finally:
            code = stack.stop()
        assert code == 0, stack.output()
        assert "GridCommons: stopped." in stack.output()
        assert not port_open("127.0.0.1", pg_port) and not port_open("127.0.0.1", ports["gateway"])


def _wait_open_failure(gateway: str, headers: dict[str, str], timeout: float = 150) -> None:
    url = f"{gateway}/api/staff/monitoring/failure/openList?communityId=demo_community&clusterId=north"
    deadline = time.monotonic() + timeout
    while True:
        status, body = _request("GET", url, headers=headers)
        assert status == 200, body
        if body:
            assert isinstance(body, list) and {"id", "type", "detected", "closed"} <= set(body[0]), body
            return
        assert time.monotonic() < deadline, "no failure opened in the demo cluster"
        time.sleep(2)


def _wait_failure_mail(folder: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        mails = sorted(folder.glob("*.eml")) if folder.is_dir() else []
        if mails:
            text = mails[0].read_text(errors="replace")
            assert "To: demo-operators@example.com" in text and "failure detected" in text, text
            assert "Subject: [" in text and "demo_community > north" in text, text
            return
        assert time.monotonic() < deadline, "no failure e-mail reached the mail sink"
        time.sleep(1)


def _children(pid: int) -> dict[int, str]:
    """The direct child processes of ``pid``: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, IndexError, ValueError):
            continue
    return found


def _wait(what: str, check: Callable[[], bool], stack: RunningStack, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline or stack.proc.poll() is not None:
            pytest.fail(f"{what} within {timeout:.0f}s:\n{stack.output()}")
        time.sleep(0.3)


def _status(url: str) -> int:
    try:
        return _request("GET", url)[0]
    except (OSError, ValueError):
        return 0


def test_make_run_restarts_a_process_that_dies_and_workers_recover_from_a_broker_restart(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in STRIPPED}
    env |= {
        "GRIDCOMMONS_DATA_DIR": str(tmp_path / "data"),
        "GC_POSTGRES_PORT": str(free_port()),
        "GC_KAFKA_PORT": str(free_port()),
    }
    ports = {}
    for entry in load_registry():
        ports[entry.name] = free_port()
        env[entry.port_env] = str(ports[entry.name])
    asset = f"http://127.0.0.1:{ports['asset-service']}/readyz"
    stack = RunningStack(env)
    try:
        stack.wait_ready()
        worker = re.search(r"asset-service-worker\s+(http://127\.0\.0\.1:\d+/readyz)", stack.output())
        assert worker, stack.output()
        worker_readyz = worker.group(1)
        _wait("the asset-service worker ready", lambda: _status(worker_readyz) == 200, stack)

        # A service process dies: it is restarted, the rest of the stack keeps running.
        services = {pid: cmd for pid, cmd in _children(stack.proc.pid).items() if "asset_service.app" in cmd}
        assert len(services) == 1, _children(stack.proc.pid)
        (old_pid,) = services
        os.kill(old_pid, signal.SIGKILL)
        _wait(
            "asset-service restart announced", lambda: "GridCommons: asset-service restarted" in stack.output(), stack
        )
        assert re.search(r"GridCommons: asset-service exited with code -9; restarting in \d+s", stack.output())
        _wait("asset-service ready again", lambda: _status(asset) == 200, stack)
        new = [pid for pid, cmd in _children(stack.proc.pid).items() if "asset_service.app" in cmd]
        assert new and new != [old_pid]
        assert stack.proc.poll() is None

        # The broker dies: restarted too; the worker's consumers rebuild and are ready again.
        brokers = [pid for pid, cmd in _children(stack.proc.pid).items() if "tansu" in cmd]
        assert len(brokers) == 1
        os.kill(brokers[0], signal.SIGKILL)
        _wait("the worker reports the broker loss", lambda: _status(worker_readyz) == 503, stack)
        _wait("broker restart announced", lambda: "GridCommons: broker restarted" in stack.output(), stack)
        _wait("the asset-service worker ready again", lambda: _status(worker_readyz) == 200, stack)
    finally:
        code = stack.stop()
    assert code == 0, stack.output()
    assert "GridCommons: stopped." in stack.output()
