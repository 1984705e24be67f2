"""Building a community registry through community-service's API, for its tests."""

from __future__ import annotations

import httpx

BASE = "/api/community/communities"


async def make_registry(
    client: httpx.AsyncClient, headers: dict[str, str], spec: dict[str, dict[str, list[str]]]
) -> None:
    """{community: {cluster: [unit, ...]}} created through the API (names = codes upper-cased)."""
    for community, clusters in spec.items():
        r = await client.post(BASE, json={"code": community, "name": community.upper()}, headers=headers)
        assert r.status_code == 201, r.text
        for cluster, units in clusters.items():
            r = await client.post(
                f"{BASE}/{community}/clusters", json={"code": cluster, "name": cluster.upper()}, headers=headers
            )
            assert r.status_code == 201, r.text
            for unit in units:
                r = await client.post(
                    f"{BASE}/{community}/clusters/{cluster}/units",
                    json={"code": unit, "name": unit.upper()},
                    headers=headers,
                )
                assert r.status_code == 201, r.text
