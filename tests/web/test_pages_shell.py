"""The player's pages as served: ``/`` goes to ``/play``; every page has the shared nav with the
current page marked, a Content-Security-Policy, versioned assets and no inline script."""

from __future__ import annotations

import re

import httpx

from tests.web.conftest import GameSite, group

PAGES = {"/play": "Play", "/arena": "Arena", "/compare": "Compare", "/traces": "Traces"}


def test_the_root_goes_to_play(game_site: GameSite, open_page):
    response = httpx.get(game_site.base_url + "/", follow_redirects=False)
    assert response.status_code in (302, 307) and response.headers["location"] == "/play"
    page = open_page()
    page.goto(game_site.base_url + "/")
    assert page.url == game_site.base_url + "/play"
    page.wait_for_selector("select[name=category] option:nth-child(2)", state="attached")


def test_every_page_has_the_nav_a_csp_and_versioned_assets(game_site: GameSite):
    for path, label in PAGES.items():
        response = httpx.get(game_site.base_url + path)
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/html"
        )
        assert "script-src 'self'" in response.headers["content-security-policy"]
        nav = group(r'<nav class="topnav"[^>]*>(.*?)</nav>', response.text)
        assert re.findall(r'href="([^"]+)"', nav) == list(PAGES)
        assert f'<a href="{path}" aria-current="page">{label}</a>' in nav
        assert not re.search(r"<script(?![^>]*\bsrc=)", response.text), "inline script"
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text):
            assert re.search(r"\?v=[0-9a-f]{10}$", asset), asset
            assert httpx.get(game_site.base_url + asset).status_code == 200
        assert (
            'id="live"' in response.text or path == "/traces"
        )  # the pages that stream speak through a live region


def test_the_pages_work_from_the_keyboard(game_site: GameSite, open_page):
    page = open_page()
    page.goto(game_site.base_url + "/play")
    page.wait_for_selector("select[name=category] option:nth-child(2)", state="attached")
    order = []
    page.locator("select[name=pipeline]").focus()
    for _ in range(6):
        order.append(
            page.evaluate(
                "(document.activeElement.name || document.activeElement.textContent).trim()"
            )
        )
        page.keyboard.press("Tab")
    assert order == [
        "pipeline",
        "mode",
        "category",
        "difficulty",
        "rounds",
        "Start game",
    ]  # one stop for the radio group
    outline = page.evaluate("""() => {
      const b = document.querySelector('#setup button[type=submit]');
      b.focus();
      return getComputedStyle(b).outlineStyle; }""")
    assert outline != "none"  # a visible focus ring
