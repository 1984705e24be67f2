"""The CSV import client (python -m metering_service.import_cli) against the served gateway: the
file streamed through the gateway's import route, the counters and rejections printed, exit statuses."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from metering_service import import_cli

from .conftest import Edge, bearer

T0 = datetime(2025, 10, 26, tzinfo=UTC)  # a DST change day in Europe


async def test_import_cli_uploads_through_the_gateway(edge: Edge, tmp_path: Path) -> None:
    company = await edge.company()
    token = await edge.user({company: "operator"})
    headers = {**bearer(token), "CompanyID": str(company)}
    r = await edge.client.post(
        "/api/metering/series",
        json={"external_key": "cli/energy", "kind": "cumulative", "unit": "kWh"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    series_id = r.json()["id"]
    rows = [f"{(T0 + k * timedelta(minutes=15)).isoformat()},{k}.25" for k in range(40_000)]
    rows[7] = "yesterday,1"
    path = tmp_path / "backfill.csv"
    path.write_text(
        "time,value\n" + "\n".join(rows) + "\n"
    )  # ≈ 1.4 MB: over the default body limit (1 MiB; 100 kB at this edge)
    assert path.stat().st_size > 1024 * 1024
    out = io.StringIO()
    argv = [str(path), "--series", str(series_id), "--gateway", edge.url, "--token", token, "--company", str(company)]
    code = await asyncio.to_thread(import_cli.main, argv, out)
    text = out.getvalue()
    assert code == 0, text
    assert "100%" in text
    assert "completed: 40,000 rows read, 39,999 written, 0 unchanged, 1 rejected" in text
    assert "  line 9 time: " in text
    listed = (await edge.client.get(f"/api/metering/series/{series_id}/imports", headers=headers)).json()
    assert [(i["rows_written"], i["status"]) for i in listed["imports"]] == [(39_999, "completed")]

    # a refused file (no value column) and an unknown series: exit status 1 with the reason
    bad = tmp_path / "bad.csv"
    bad.write_text("time\n2025-01-01T00:00:00Z\n")
    out = io.StringIO()
    argv = [str(bad), "--series", str(series_id), "--gateway", edge.url, "--token", token, "--company", str(company)]
    assert await asyncio.to_thread(import_cli.main, argv, out) == 1
    assert "refused (422)" in out.getvalue() and "time, value" in out.getvalue()
    out = io.StringIO()
    argv[2] = "987654321"
    assert await asyncio.to_thread(import_cli.main, argv, out) == 1
    assert "refused (404)" in out.getvalue()
