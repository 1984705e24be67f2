"""The READMEs name each service's port and settings prefix as deploy/services.toml gives them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridcommons.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = load_registry(ROOT)
ROW = re.compile(r"^\| ([a-z-]+)\b[^|]*\| `127\.0\.0\.1:(\d+)` \| `([A-Z_]+)` \|$", re.M)


def test_the_front_readme_lists_every_service_with_its_port_and_variable() -> None:
    rows = {name: (int(port), env) for name, port, env in ROW.findall((ROOT / "README.md").read_text())}
    assert rows == {s.name: (s.port, s.port_env) for s in REGISTRY}


@pytest.mark.parametrize("service", [s for s in REGISTRY if not s.is_gateway], ids=lambda s: s.name)
def test_each_service_readme_states_its_port_and_prefix(service) -> None:
    text = (ROOT / service.name / "README.md").read_text()
    stated = re.search(r"port (\d+), env prefix `([A-Z]+_)`", text)
    assert stated is not None, f"{service.name}/README.md does not state its port and env prefix"
    assert (int(stated[1]), stated[2]) == (service.port, service.env_prefix)
    assert f"| `{service.port_env}` | `{service.port}` |" in text
