"""What sits under every page: the one fetch helper (bearer token from localStorage, a dialog on
401, retry), the SSE reader (messages split across chunks), and re-attaching to a round whose
stream dropped, without losing or duplicating an event."""

from __future__ import annotations

import json
import re

import httpx

from tests.support.sse import parse_sse
from tests.web.conftest import (
    GameSite,
    arithmetic_answer,
    game_site_at,
    group,
    screenshot,
    wait_for_options,
)

TOKEN = "sesame-0123456"


def fake_auth(page, token: str, log: list) -> None:
    """Answer every /api request without ``Authorization: Bearer <token>`` as the service does
    when QUIZRELAY_API_TOKENS is set (401, WWW-Authenticate, a JSON detail)."""

    def guard(route):
        auth = route.request.headers.get("authorization")
        log.append((route.request.method, route.request.url.split("/api/", 1)[1], auth))
        if auth == f"Bearer {token}":
            return route.continue_()
        detail = (
            "the bearer token is not valid"
            if auth
            else "this API needs a bearer token: send 'Authorization: Bearer <token>'"
        )
        route.fulfill(
            status=401,
            headers={"WWW-Authenticate": "Bearer", "content-type": "application/json"},
            body=json.dumps({"detail": detail}),
        )

    page.route(re.compile(r".*/api/.*"), guard)


def dialog_open(page) -> bool:
    return page.evaluate("!!(document.getElementById('token-dialog') || {}).open")


def test_pages_ask_for_the_token_on_401_store_it_and_retry(game_site: GameSite, open_page):
    site, page = game_site, open_page()
    log: list = []
    fake_auth(page, TOKEN, log)
    page.goto(site.base_url + "/play")
    page.wait_for_function(
        "document.getElementById('token-dialog') && document.getElementById('token-dialog').open"
    )
    assert page.evaluate("document.activeElement.id") == "token-input"
    assert "needs a bearer token" in page.locator("#token-why").inner_text()
    screenshot(page, "token-dialog", full_page=False)
    page.keyboard.type("not-the-token")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('token-why').textContent.includes('refused')")
    assert dialog_open(page)  # a refused token asks again
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    wait_for_options(page)  # the categories request was retried with the token
    assert not dialog_open(page)
    assert page.evaluate("localStorage.getItem('quizrelay.token')") == TOKEN
    page.wait_for_selector(
        "#leaderboard tbody td"
    )  # the leaderboard, refused at the same time, too
    assert "bearer token" not in page.locator("#leaderboard").inner_text()

    # Streaming POSTs go through the same helper.
    page.select_option("select[name=pipeline]", "chat")
    page.fill("input[name=rounds]", "1")
    page.click("#setup button[type=submit]")
    page.wait_for_selector("#next:not([hidden])")
    assert page.locator(".verdict").is_visible()
    posts = [path for method, path, auth in log if method == "POST" and auth == f"Bearer {TOKEN}"]
    assert posts == ["games", "rounds"]

    # The trace pages use it too: the stored token is sent, no dialog.
    page.goto(site.base_url + "/traces")
    page.wait_for_selector("#traces tbody tr[data-trace]")
    assert not dialog_open(page)
    assert log[-1][2] == f"Bearer {TOKEN}"
    page.console_errors.clear()  # the browser logs the 401 responses


def test_cancelling_the_token_dialog_reports_the_401(game_site: GameSite, open_page):
    site, page = game_site, open_page()
    fake_auth(page, TOKEN, [])
    page.goto(site.base_url + "/arena")
    page.wait_for_function(
        "document.getElementById('token-dialog') && document.getElementById('token-dialog').open"
    )
    page.keyboard.press("Escape")
    page.wait_for_selector("#status.error")
    assert "needs a bearer token" in page.locator("#status").inner_text()
    assert not dialog_open(page)
    page.console_errors.clear()


def test_with_api_tokens_the_play_page_asks_for_a_token_then_works(tmp_path, open_page):
    with game_site_at(
        tmp_path / "quizrelay.db", api_tokens="alice:alice-token-1,bob:bob-token-22"
    ) as site:
        assert httpx.get(site.base_url + "/api/categories").status_code == 401
        page = open_page()
        page.goto(site.base_url + "/play")
        page.wait_for_function(
            "document.getElementById('token-dialog') "
            "&& document.getElementById('token-dialog').open"
        )
        page.keyboard.type("alice-token-1")
        page.keyboard.press("Enter")
        wait_for_options(page)
        page.fill("input[name=rounds]", "1")
        page.click("#setup button[type=submit]")
        page.wait_for_selector("#next:not([hidden])")
        assert (
            page.locator(".verdict").is_visible()
            and page.locator("#score").inner_text() == "0 / 1 correct"
        )
        game_id = group(r"game=([A-Za-z0-9_-]+)", page.url)
        site.token = "alice-token-1"
        assert site.api(f"/api/games/{game_id}")["score"]["played"] == 1
        bob = httpx.get(
            f"{site.base_url}/api/games/{game_id}", headers={"authorization": "Bearer bob-token-22"}
        )
        assert bob.status_code == 404  # alice's game is hers alone
        page.locator(".round .trace-link").click()  # the trace page reads with alice's token
        page.wait_for_selector(".wf-row")
        assert not dialog_open(page)
        page.console_errors.clear()  # the first requests got 401s
        page.goto("about:blank")  # nothing polls the service as it stops


def test_the_sse_reader_joins_messages_split_across_chunks(game_site: GameSite, open_page):
    page = open_page()
    page.goto(game_site.base_url + "/traces")
    messages = page.evaluate("""async () => {
      const text = 'id: 1\\ndata: {"a":"é€ ✓"}\\n\\n: ping\\n\\n' +
                   'id: 2\\r\\nevent: x\\r\\ndata: {"b":\\r\\ndata:2}\\r\\n\\r\\n' +
                   'data: no id\\n\\nid: 4\\ndata: {"cut off"';
      const bytes = new TextEncoder().encode(text);
      const stream = new ReadableStream({ start(c) {
        for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3));
        c.close();
      } });
      const got = [];
      await QR.readSSE(new Response(stream), (m) => { got.push(m); });
      return got;
    }""")
    assert messages == [
        {"id": 1, "event": "", "data": '{"a":"é€ ✓"}'},
        {"id": 2, "event": "x", "data": '{"b":\n2}'},
        {"id": None, "event": "", "data": "no id"},
    ]  # the message cut off by the end is dropped


def first_messages(request, count: int) -> bytes:
    """Send ``request`` to the service and read its event stream only until ``count`` messages
    and the start of the next one have arrived: what a client sees when the connection drops
    mid-message. (Playwright's ``route.fetch`` would wait for the end of the stream.)"""
    headers = {
        k: v
        for k, v in request.headers.items()
        if k.lower() in ("content-type", "accept", "authorization")
    }
    body = b""
    with (
        httpx.Client(timeout=30) as http,
        http.stream(
            request.method, request.url, content=request.post_data_buffer, headers=headers
        ) as response,
    ):
        assert response.status_code == 200, response.read()
        for chunk in response.iter_bytes():
            body += chunk
            starts = [m.start() for m in re.finditer(rb"^id: \d+\n", body, re.M)]
            if len(starts) > count and len(body) >= starts[count] + 10:
                return body[: starts[count] + 10]
    raise AssertionError(f"the stream ended before {count + 1} messages")


def test_a_dropped_stream_is_reattached_without_losing_or_repeating_events(
    game_site: GameSite, open_page
):
    site, page = game_site, open_page()
    attaches: list[str] = []

    def cut(count: int):
        def handler(route):
            body = first_messages(route.request, count)
            route.fulfill(status=200, headers={"content-type": "text/event-stream"}, body=body)

        return handler

    def events(route):
        attaches.append(route.request.url.split("/events", 1)[1])
        if len(attaches) == 1:
            return cut(2)(route)  # the first re-attach drops too, after two more events
        if len(attaches) == 2:  # the service replays everything: the page must skip what it has
            return route.continue_(url=re.sub(r"after=\d+", "after=0", route.request.url))
        return route.continue_()

    page.route(
        re.compile(r".*/api/rounds$"),
        lambda route: cut(8)(route) if route.request.method == "POST" else route.continue_(),
    )
    page.route(re.compile(r".*/api/rounds/[^/]+/answer$"), cut(4))
    page.route(re.compile(r".*/api/rounds/[^/]+/events\?.*"), events)
    page.goto(site.base_url + "/play")
    wait_for_options(page)
    page.check("input[name=mode][value=human]")
    page.select_option("select[name=category]", "arithmetic")
    page.select_option("select[name=difficulty]", "easy")
    page.fill("input[name=rounds]", "1")
    page.click("#setup button[type=submit]")
    page.wait_for_selector("#answer-input")
    page.keyboard.type(arithmetic_answer(page.locator(".q-text").inner_text()))
    page.keyboard.press("Enter")
    page.wait_for_selector("#next:not([hidden])")
    assert page.locator(".verdict").get_attribute("data-correct") == "true"

    view = page.locator(".round").evaluate("el => ({ids: el._view.ids, info: el._view.info})")
    with httpx.Client(timeout=30) as http:
        text = http.get(f"{site.base_url}/api/rounds/{view['info']['round_id']}/events").text
    replay, _ = parse_sse(text.split("\n"))
    assert (
        view["ids"] == [e.id for e in replay] == list(range(1, len(replay) + 1))
    )  # none lost, none twice
    first_run_end = next(e.id for e in replay if e.type == "RUN_FINISHED")
    assert (
        attaches[:2] == ["?after=8", "?after=10"] and attaches[2] == f"?after={first_run_end + 4}"
    )

    # What the page shows is what the replay says.
    calls = page.locator(".call")
    starts = [e for e in replay if e.type == "TOOL_CALL_START"]
    assert calls.locator(".call-name").all_inner_texts() == [e.data["toolCallName"] for e in starts]
    for i, start in enumerate(starts):
        args = "".join(
            e.data["delta"]
            for e in replay
            if e.type == "TOOL_CALL_ARGS" and e.data["toolCallId"] == start.data["toolCallId"]
        )
        assert calls.nth(i).locator(".call-args").text_content() == args
    question = next(
        e.data["value"]["text"] for e in replay if e.type == "CUSTOM" and e.name == "question"
    )
    assert page.locator(".q-text").text_content() == question
    assert page.locator(".handoff-line").all_inner_texts() == [
        f"{e.data['value']['from']} → {e.data['value']['to']}"
        for e in replay
        if e.type == "CUSTOM" and e.name == "handoff"
    ]
    assert page.locator("#score").inner_text() == "1 / 1 correct"
