"""The service registry (``deploy/services.toml``): names, ports, apps, migrations, workers."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    package: str
    app: str
    port: int
    port_env: str
    migrations: Path
    workers: str | None

    @property
    def effective_port(self) -> int:
        return int(os.environ.get(self.port_env, self.port))


def repo_root() -> Path:
    here = Path(os.environ.get("GRIDCOMMONS_ROOT", Path.cwd()))
    for candidate in (here, *here.parents):
        if (candidate / "deploy" / "services.toml").exists():
            return candidate
    raise FileNotFoundError("deploy/services.toml not found (run from the repository, or set GRIDCOMMONS_ROOT)")


def load_registry(root: Path | None = None) -> list[ServiceEntry]:
    root = root or repo_root()
    data = tomllib.loads((root / "deploy" / "services.toml").read_text())
    return [
        ServiceEntry(
            name=s["name"],
            package=s["package"],
            app=s["app"],
            port=int(s["port"]),
            port_env=s["port_env"],
            migrations=root / s["migrations"],
            workers=s.get("workers"),
        )
        for s in data["service"]
    ]
