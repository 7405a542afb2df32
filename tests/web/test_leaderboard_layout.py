"""The play page's leaderboard fits its sidebar: at 1280 × 800 every column is visible inside its
box (a model's name wraps rather than pushing "Right" and "%" out of it), and at phone width
(390 px) the page does not scroll sideways and every column can be reached in the box.

Sites of their own: the leaderboard counts every round in the database, and the model's name is
what makes the table wide (the embedded model's alias, and a llama.cpp-style GGUF file name)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.sse import stream_round
from tests.web.conftest import PHONE, GameSite, fits_the_screen, game_site_at, screenshot

LAPTOP = {"width": 1280, "height": 800}
MODELS = {"embedded-name": "smollm2-135m-instruct", "long-name": "qwen2.5-14b-instruct-q4_k_m.gguf"}


@pytest.fixture(scope="module", params=list(MODELS))
def board_site(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[tuple[str, GameSite]]:
    """(name, site): a site whose leaderboard has an agents and a chat line for MODELS[name]."""
    database = tmp_path_factory.mktemp("web") / "quizrelay.db"
    with game_site_at(database, model=MODELS[request.param]) as site:
        with httpx.Client(timeout=60) as http:
            for pipeline in ("agents", "chat"):  # one leaderboard line each
                stream_round(http, f"{site.base_url}/api/rounds", {"pipeline": pipeline})
        yield request.param, site


def open_board(site: GameSite, page) -> None:
    page.goto(site.base_url + "/play")
    page.wait_for_selector("#leaderboard tbody tr[data-mode]")
    assert page.locator("#leaderboard tbody tr[data-mode]").count() == 2


def inside(box: dict, outer: dict, slack: float = 0.5) -> bool:
    return (
        box["x"] >= outer["x"] - slack
        and box["x"] + box["width"] <= outer["x"] + outer["width"] + slack
        and box["y"] >= outer["y"] - slack
        and box["y"] + box["height"] <= outer["y"] + outer["height"] + slack
    )


def test_every_leaderboard_column_shows_at_1280(board_site: tuple[str, GameSite], open_page):
    (name, site), page = board_site, open_page(LAPTOP)
    open_board(site, page)
    viewport = {"x": 0, "y": 0, **LAPTOP}
    board = page.locator("#leaderboard")
    wrap = board.locator("xpath=..")
    section = page.locator("section[aria-labelledby=lb-title]")
    wrap_box, section_box = wrap.bounding_box(), section.bounding_box()
    assert inside(wrap_box, section_box) and inside(section_box, viewport)
    headers = board.locator("thead th")
    assert headers.all_inner_texts() == ["#", "Who · pipeline", "Right", "%"]
    for i in range(headers.count()):
        box = headers.nth(i).bounding_box()
        text = headers.nth(i).inner_text()
        assert inside(box, viewport), (text, box, "outside the 1280 × 800 viewport")
        assert inside(box, wrap_box), (text, box, wrap_box, "cut by the leaderboard's box")
    for cell in board.locator("tbody td").all():
        assert inside(cell.bounding_box(), wrap_box), (cell.inner_text(), "cut by the box")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), "the table scrolls sideways"
    assert MODELS[name] in board.locator("tbody tr").first.inner_text().replace("\n", "")
    assert fits_the_screen(page)
    screenshot(page, f"play-leaderboard-1280-{name}", full_page=False)


def test_the_leaderboard_at_phone_width(board_site: tuple[str, GameSite], open_page):
    (name, site), page = board_site, open_page(PHONE)
    open_board(site, page)
    assert fits_the_screen(page), "the play page scrolls sideways at 390 px"
    wrap = page.locator("#leaderboard").locator("xpath=..")
    headers = page.locator("#leaderboard thead th")
    for i in range(headers.count()):  # each column can be brought into view inside the box
        headers.nth(i).scroll_into_view_if_needed()
        box, wrap_box = headers.nth(i).bounding_box(), wrap.bounding_box()
        assert wrap_box["x"] >= 0 and wrap_box["x"] + wrap_box["width"] <= PHONE["width"] + 0.5
        assert inside(box, wrap_box), (headers.nth(i).inner_text(), box, wrap_box)
    page.locator("#leaderboard").scroll_into_view_if_needed()
    screenshot(page, f"play-leaderboard-phone-{name}")
