"""/docs in a real browser, as an operator uses it: Debian's Chromium driven by Playwright, against the
real gateway and asset-service of the edge fixture, with every non-loopback request blocked.

Reported as skipped ("not run: no browser") where no Chromium is installed (.ci/run installs it)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import Edge

pytestmark = pytest.mark.browser

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
TIMEOUT_MS = 60_000  # a 2-core machine shared with other work: be patient, never assert durations


def chromium_path() -> str | None:
    candidates = [os.environ.get("GRIDCOMMONS_CHROMIUM"), "chromium", "chromium-browser"]
    for name in candidates:
        if name and (path := shutil.which(name)):
            return path
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.skip("not run: no browser")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("not run: no browser (playwright is not installed)")
    async with async_playwright() as pw:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        b = await pw.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield b
        finally:
            await b.close()


class OfflinePage:
    """A page whose requests to anything but loopback are aborted (and recorded)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.blocked: list[str] = []
        self.token_requests: list[dict[str, str]] = []
        self.token_responses: list[dict[str, Any]] = []
        self.console_errors: list[str] = []

    @classmethod
    async def open(cls, browser: Any) -> OfflinePage:
        context = await browser.new_context()
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        me = cls(page)

        async def route(r: Any) -> None:
            host = urlsplit(r.request.url).hostname or ""
            if r.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
                await r.continue_()
            else:
                me.blocked.append(r.request.url)
                await r.abort("internetdisconnected")

        async def on_response(resp: Any) -> None:
            if urlsplit(resp.url).path == "/auth/token":
                try:
                    me.token_responses.append(await resp.json())
                except Exception:
                    me.token_responses.append({})

        def on_request(req: Any) -> None:
            if urlsplit(req.url).path == "/auth/token":
                me.token_requests.append(
                    {k.lower(): v for k, v in req.headers.items()} | {"_body": req.post_data or ""}
                )

        await context.route("**/*", route)
        page.on("request", on_request)
        page.on("response", on_response)
        page.on("console", lambda m: me.console_errors.append(m.text) if m.type == "error" else None)
        return me

    async def authorized(self) -> dict[str, Any]:
        raw = await self.page.evaluate("() => window.localStorage.getItem('authorized')")
        return json.loads(raw) if raw else {}


async def sign_in(p: OfflinePage, username: str, password: str) -> None:
    page = p.page
    await page.click(".auth-wrapper button.authorize")
    dialog = page.locator(".dialog-ux .modal-ux")
    await dialog.wait_for()
    login = dialog.locator(".auth-container", has=page.locator("h4", has_text="PasswordLogin"))
    await login.locator("#oauth_username").fill(username)
    await login.locator("#oauth_password").fill(password)
    await login.locator(".auth-btn-wrapper button.authorize").click()
    await login.locator("button", has_text="Logout").wait_for()  # this scheme is now signed in


async def set_company(p: OfflinePage, company_id: int) -> None:
    dialog = p.page.locator(".dialog-ux .modal-ux")
    box = dialog.locator(".auth-container", has=p.page.locator("h4", has_text="CompanyID"))
    await box.locator("input").fill(str(company_id))
    await box.locator(".auth-btn-wrapper button.authorize").click()
    await box.locator("button", has_text="Logout").wait_for()


async def close_dialog(p: OfflinePage) -> None:
    await p.page.locator(".dialog-ux .modal-ux button.close-modal").click()
    await p.page.locator(".dialog-ux").wait_for(state="detached")


async def reveal(page: Any, selector: str) -> Any:
    """The element, scrolled into view. Swagger UI renders a long list (150 tags and operations or more)
    virtually: only the rows near the viewport are in the page, so scroll from the top until it is."""
    found = page.locator(selector)
    if await found.count():
        await found.first.scroll_into_view_if_needed()
        return found
    await page.evaluate("window.scrollTo(0, 0)")
    await page.mouse.move(400, 400)
    for _ in range(400):
        if await found.count():
            await found.first.scroll_into_view_if_needed()
            return found
        await page.mouse.wheel(0, 600)
        await page.wait_for_timeout(30)
    raise AssertionError(f"{selector} is never rendered")


async def execute(p: OfflinePage, op_id: str, body: dict[str, Any] | None = None) -> str:
    """Open the operation, Try it out, (fill the body), Execute; the rendered response status."""
    page = p.page
    selector = f"#operations-{op_id}"
    block = await reveal(page, selector)
    if not await block.locator(".opblock-body").count():
        await block.locator(".opblock-summary").first.click()
    await reveal(page, f"{selector} .opblock-body")  # opening it may move it out of the rendered rows
    block = page.locator(selector)
    if await block.locator("button.try-out__btn", has_text="Try it out").count():
        await block.locator("button.try-out__btn").click()
    await reveal(page, f"{selector} button.execute")
    if body is not None:
        await block.locator("textarea.body-param__text").fill(json.dumps(body))
    responses_before = await block.locator(".live-responses-table .response-col_status").count()
    await block.locator("button.execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    if responses_before:
        await page.wait_for_function(
            "(sel) => !document.querySelector(sel + ' .loading-container')", arg=f"#operations-{op_id}"
        )
    await status.wait_for()
    return (await status.inner_text()).strip()


async def open_docs(p: OfflinePage, url: str) -> None:
    await p.page.goto(url + "/docs")
    await p.page.locator(".swagger-ui .info .title", has_text="GridCommons API").wait_for()
    await (await reveal(p.page, "#operations-assets-list_assets_api_assets_get")).wait_for()


async def test_operator_works_in_swagger_ui_offline(edge: Edge, browser: Any) -> None:
    company = await edge.company()
    username, password, _ = await edge.account({company: "operator"})
    p = await OfflinePage.open(browser)
    await open_docs(p, edge.url)
    # The UI rendered from the gateway alone.
    for tag in ("assets", "communities", "series", "scenarios"):  # the merged document: every service's tags
        assert await (await reveal(p.page, f"#operations-tag-{tag}")).count() == 1

    await sign_in(p, username, password)
    # One password login authorizes one scheme: the machine-client block still offers its form.
    dialog = p.page.locator(".dialog-ux .modal-ux")
    assert await dialog.locator("h6", has_text="Authorized").count() == 1
    assert await dialog.locator("button", has_text="Logout").count() == 1
    assert await dialog.locator("#client_id_clientCredentials").is_visible()
    # People see username and password only: no client id/secret, no "client credentials location".
    for label in ("password_type", "client_id_password", "client_secret_password"):
        assert not await dialog.locator(f"label[for={label}]").is_visible()
    # The password flow's empty client id/secret were not sent as "Basic Og==".
    assert len(p.token_requests) == 1
    assert "authorization" not in p.token_requests[0], p.token_requests[0]
    assert "grant_type=password" in p.token_requests[0]["_body"]
    # No scope noise.
    assert not await dialog.locator(".scopes, .scope-def").first.is_visible()
    assert "scopes" not in (await dialog.inner_text()).lower()
    await set_company(p, company)
    await close_dialog(p)
    # The browser keeps the token and the company, never the password.
    stored = await p.authorized()
    assert stored["CompanyID"]["value"] == str(company)
    assert stored["PasswordLogin"]["token"]["access_token"]
    assert password not in json.dumps(stored)

    # List, then create, through Try it out -> Execute, the company coming from the dialog.
    assert await execute(p, "assets-list_assets_api_assets_get") == "200"
    asset = {
        "code": "swagger",
        "name": "Swagger BESS",
        "type": "BESS",
        "region": "DE",
        "delivery_area": "50HZ",
        "provider": "ENTELIOS",
    }
    assert await execute(p, "assets-create_asset_api_assets_post", asset) == "201"
    block = await reveal(p.page, "#operations-assets-create_asset_api_assets_post")
    created = json.loads(await block.locator(".live-responses-table .response-col_description pre").first.inner_text())
    assert created["name"] == "Swagger BESS"

    # A reload keeps the sign-in and the company.
    await open_docs(p, edge.url)
    assert await execute(p, "assets-list_assets_api_assets_get") == "200"
    listed_block = await reveal(p.page, "#operations-assets-list_assets_api_assets_get")
    listed = json.loads(
        await listed_block.locator(".live-responses-table .response-col_description pre").first.inner_text()
    )
    assert [a["name"] for a in listed["assets"]] == ["Swagger BESS"]

    assert p.blocked == [], p.blocked
    assert not [e for e in p.console_errors if "Content Security Policy" in e], p.console_errors


async def test_ended_session_asks_to_sign_in_again(edge: Edge, browser: Any) -> None:
    company = await edge.company()
    username, password, _ = await edge.account({company: "operator"})
    p = await OfflinePage.open(browser)
    await open_docs(p, edge.url)
    await sign_in(p, username, password)
    await set_company(p, company)
    await close_dialog(p)
    assert await execute(p, "assets-list_assets_api_assets_get") == "200"
    banner = p.page.locator("#gc-session-banner")
    assert await banner.is_hidden()

    # The session ends on the server (here: a logout elsewhere; an expired token answers the same 401).
    token = (await p.authorized())["PasswordLogin"]["token"]["access_token"]
    r = await edge.client.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204
    assert await execute(p, "assets-list_assets_api_assets_get") == "401"
    await banner.wait_for(state="visible")
    assert "sign in again" in (await banner.inner_text()).lower()
    # The dead token is dropped (the company stays), and the banner's button opens Authorize.
    stored = await p.authorized()
    assert "PasswordLogin" not in stored and stored["CompanyID"]["value"] == str(company)
    await banner.locator("button.gc-banner-signin").click()
    await p.page.locator(".dialog-ux .modal-ux #oauth_username").wait_for()
    assert p.blocked == [], p.blocked


async def test_expiring_session_is_renewed_with_the_refresh_token(edge: Edge, browser: Any) -> None:
    """Tokens that live a few seconds: the page renews them with the refresh token the password grant
    issued (grant_type=refresh_token) before sending, and the request goes through."""
    from gateway.app import create_app as create_gateway_app
    from gridcommons.testing.servers import serve_app

    company = await edge.company()
    username, password, _ = await edge.account({company: "operator"})
    settings = edge.app.state.settings.model_copy(update={"access_token_ttl_seconds": 3})
    async with serve_app(create_gateway_app(settings, configure_logs=False)) as url:
        p = await OfflinePage.open(browser)
        await open_docs(p, url)
        await sign_in(p, username, password)
        await set_company(p, company)
        await close_dialog(p)
        first = (await p.authorized())["PasswordLogin"]["token"]["access_token"]
        assert p.token_responses[-1].get("refresh_token")
        await p.page.wait_for_timeout(4_000)  # the first access token has expired
        assert await execute(p, "assets-list_assets_api_assets_get") == "200"
        renewals = [r for r in p.token_requests if "grant_type=refresh_token" in r["_body"]]
        assert renewals, p.token_requests
        renewed = (await p.authorized())["PasswordLogin"]["token"]
        assert renewed["access_token"] != first and renewed.get("refresh_token")
        assert await p.page.locator("#gc-session-banner").is_hidden()
        assert p.blocked == [], p.blocked
