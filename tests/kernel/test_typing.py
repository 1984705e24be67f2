"""mypy checks services against the kernel's own types (``gridcommons``, with its ``py.typed``),
not against ``shared.gridcommons`` or an untyped ``Any``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_sees_the_kernel_types() -> None:
    assert (ROOT / "shared" / "gridcommons" / "py.typed").exists()
    code = "from gridcommons.db import asyncpg_dsn\nfrom asset_service.db import outbox\nreveal_type(asyncpg_dsn)\nreveal_type(outbox)"
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600
    ).stdout
    assert 'Revealed type is "def (sqlalchemy_url: str) -> str"' in out, out
    assert 'Revealed type is "gridcommons.outbox.Outbox"' in out, out
