"""The notification settings API (operators): defaults, replace, validation (422), webhook secret kept
or required, roles, tenant isolation (another company's community is 404), deliveries listing."""

from __future__ import annotations

import httpx
import pytest
from conftest import DEFAULT_TO
from fastapi import FastAPI
from notify_helpers import COMMUNITY, register

BASE = "/api/monitoring/notification-settings"
SECRET = "0123456789abcdef-secret"


async def test_defaults_then_replace_then_delete(
    notify_app: FastAPI, notify_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    await register(notify_app, company_id)
    h = internal_headers(company_id, "operator")
    r = await notify_client.get(f"{BASE}/{COMMUNITY}", headers=h)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "communityId": COMMUNITY,
        "notifyTo": None,
        "timeZone": None,
        "webhook": None,
        "recipients": DEFAULT_TO,
        "effectiveTimeZone": "UTC",
        "updatedAt": None,
    }
    assert (await notify_client.get(BASE, headers=h)).json() == []

    body = {
        "notifyTo": ["a@example.com", "b.c+ops@sub.example.org", "a@example.com"],
        "timeZone": "Europe/Paris",
        "webhook": {"url": "https://hooks.example.com/x?y=1", "secret": SECRET},
    }
    r = await notify_client.put(f"{BASE}/{COMMUNITY}", json=body, headers=internal_headers(company_id, "admin"))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["notifyTo"] == got["recipients"] == ["a@example.com", "b.c+ops@sub.example.org"]  # once each
    assert (got["timeZone"], got["effectiveTimeZone"]) == ("Europe/Paris", "Europe/Paris")
    assert got["webhook"] == {"url": "https://hooks.example.com/x?y=1"}  # the secret is never answered
    assert SECRET not in r.text and got["updatedAt"]
    assert (await notify_client.get(f"{BASE}/{COMMUNITY}", headers=h)).json() == got
    assert (await notify_client.get(BASE, headers=h)).json() == [got]

    # the secret may be omitted once stored (kept); an empty recipient list means no e-mail
    r = await notify_client.put(
        f"{BASE}/{COMMUNITY}", json={"notifyTo": [], "webhook": {"url": "http://10.0.0.5:8080/h"}}, headers=h
    )
    assert r.status_code == 200, r.text
    assert (r.json()["notifyTo"], r.json()["recipients"], r.json()["effectiveTimeZone"]) == ([], [], "UTC")
    r = await notify_client.delete(f"{BASE}/{COMMUNITY}", headers=h)
    assert (r.status_code, r.content) == (204, b"")
    assert (await notify_client.get(f"{BASE}/{COMMUNITY}", headers=h)).json()["updatedAt"] is None
    # without a stored secret, a webhook needs one
    r = await notify_client.put(f"{BASE}/{COMMUNITY}", json={"webhook": {"url": "https://h.example.com/"}}, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "webhook", "secret"], r.text


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"notifyTo": ["not-an-address"]}, ["body", "notifyTo", 0]),
        ({"notifyTo": ["ok@example.com", "two@@example.com"]}, ["body", "notifyTo", 1]),
        ({"notifyTo": ["a@example.com\r\nBcc: x@example.com"]}, ["body", "notifyTo", 0]),
        ({"notifyTo": ["Name <a@example.com>"]}, ["body", "notifyTo", 0]),
        ({"notifyTo": "a@example.com"}, ["body", "notifyTo"]),
        ({"notifyTo": [f"u{i}@example.com" for i in range(51)]}, ["body", "notifyTo"]),
        ({"timeZone": "Mars/Olympus"}, ["body", "timeZone"]),
        ({"timeZone": "+02:00"}, ["body", "timeZone"]),
        ({"webhook": {"url": "ftp://h.example.com/x", "secret": SECRET}}, ["body", "webhook", "url"]),
        ({"webhook": {"url": "javascript:alert(1)", "secret": SECRET}}, ["body", "webhook", "url"]),
        ({"webhook": {"url": "https:///nohost", "secret": SECRET}}, ["body", "webhook", "url"]),
        ({"webhook": {"url": "https://u:p@h.example.com/", "secret": SECRET}}, ["body", "webhook", "url"]),
        ({"webhook": {"url": "https://h.example.com/a b", "secret": SECRET}}, ["body", "webhook", "url"]),
        ({"webhook": {"url": "https://h.example.com:99999/", "secret": SECRET}}, ["body", "webhook", "url"]),
        ({"webhook": {"url": "https://h.example.com/", "secret": "short"}}, ["body", "webhook", "secret"]),
        ({"unknown": 1}, ["body", "unknown"]),
    ],
)
async def test_invalid_settings_are_422_and_change_nothing(
    notify_app: FastAPI, notify_client: httpx.AsyncClient, internal_headers, company_id: int, body: dict, loc: list
) -> None:
    await register(notify_app, company_id)
    h = internal_headers(company_id, "operator")
    r = await notify_client.put(f"{BASE}/{COMMUNITY}", json=body, headers=h)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]][0] == loc
    assert (await notify_client.get(f"{BASE}/{COMMUNITY}", headers=h)).json()["updatedAt"] is None


async def test_roles_and_tenant_isolation(
    notify_app: FastAPI, notify_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    other = company_id + 500_000
    await register(notify_app, company_id)
    await register(notify_app, other, community="theirs")
    mine = internal_headers(company_id, "operator")
    theirs = internal_headers(other, "admin")
    body = {"notifyTo": ["mine@example.com"], "webhook": {"url": "https://mine.example.com/", "secret": SECRET}}
    assert (await notify_client.put(f"{BASE}/{COMMUNITY}", json=body, headers=mine)).status_code == 200

    # the other company: this company's community does not exist there (404 everywhere, nothing changed)
    for method, path, kwargs in [
        ("GET", f"{BASE}/{COMMUNITY}", {}),
        ("PUT", f"{BASE}/{COMMUNITY}", {"json": {"notifyTo": ["x@example.com"]}}),
        ("DELETE", f"{BASE}/{COMMUNITY}", {}),
        ("GET", f"/api/monitoring/notification-deliveries/{COMMUNITY}", {}),
    ]:
        r = await notify_client.request(method, path, headers=theirs, **kwargs)
        assert (r.status_code, r.json()) == (404, {"detail": "No such community"}), (method, path)
    assert (await notify_client.get(BASE, headers=theirs)).json() == []
    assert (await notify_client.get(f"{BASE}/{COMMUNITY}", headers=mine)).json()["notifyTo"] == ["mine@example.com"]
    # and mine cannot reach theirs
    assert (await notify_client.get(f"{BASE}/theirs", headers=mine)).status_code == 404
    assert (await notify_client.get(f"{BASE}/unknown", headers=mine)).status_code == 404

    # roles: members and devices are refused; no identity at all is 401; no company is 400
    for roles in (("member",), ("device",)):
        h = internal_headers(company_id, *roles)
        assert (await notify_client.get(f"{BASE}/{COMMUNITY}", headers=h)).status_code == 403
        r = await notify_client.put(f"{BASE}/{COMMUNITY}", json={"notifyTo": []}, headers=h)
        assert r.status_code == 403
    assert (await notify_client.get(f"{BASE}/{COMMUNITY}")).status_code == 401
    assert (
        await notify_client.get(f"{BASE}/{COMMUNITY}", headers=internal_headers(None, "operator"))
    ).status_code == 400
    assert (await notify_client.get(f"{BASE}/{COMMUNITY}", headers=mine)).json()["notifyTo"] == ["mine@example.com"]


async def test_deliveries_listing_refusals(
    notify_app: FastAPI, notify_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    await register(notify_app, company_id)
    h = internal_headers(company_id, "operator")
    path = f"/api/monitoring/notification-deliveries/{COMMUNITY}"
    assert (await notify_client.get(path, headers=h)).json() == []
    assert (await notify_client.get(path, params={"state": "weird"}, headers=h)).status_code == 422
    assert (await notify_client.get(path, params={"limit": 0}, headers=h)).status_code == 422
