"""The trace pages under load and under attack: a 500-span trace stays usable, and HTML or
script in span names, model output, tool arguments, errors and metadata is shown as text."""

from __future__ import annotations

import re
import time

import httpx

from tests.support.server import on_app
from tests.web.conftest import (
    HOSTILE,
    HOSTILE_GAME,
    HOSTILE_NAME,
    Site,
    screenshot,
    synthetic_trace,
)


def test_a_500_span_trace_renders_and_its_last_span_opens(synthetic_site: Site, open_page):
    site, page = synthetic_site, open_page()
    started = time.perf_counter()
    page.goto(site.base_url + "/traces/trace_big")
    page.wait_for_function("document.querySelectorAll('.wf-row').length === 500")
    elapsed = time.perf_counter() - started
    print(f"\n500-span waterfall: loaded and rendered in {elapsed * 1000:.0f} ms")
    assert (
        page.locator("#trace-head .stat", has_text="Spans").locator(".stat-value").inner_text()
        == "500"
    )

    waterfall = page.locator("#waterfall")
    assert waterfall.evaluate(
        "el => el.scrollHeight > el.clientHeight"
    )  # the waterfall scrolls, the page does not grow
    last = page.locator('.wf-row[data-span="t499"]')
    last.scroll_into_view_if_needed()
    assert waterfall.evaluate("el => el.scrollTop") > 0
    last.click()
    details = page.locator("#details")
    assert details.locator(".d-title").inner_text() == "last_tool"
    assert (
        "the very last result" in details.inner_text() and '"final": true' in details.inner_text()
    )
    assert last.get_attribute("aria-selected") == "true"
    # The axis covers the whole trace: the last bar ends near the right edge of the track.
    bar = last.locator(".wf-bar").bounding_box()
    track = last.locator(".wf-track").bounding_box()
    assert bar["x"] + bar["width"] > track["x"] + 0.95 * track["width"]
    screenshot(page, "trace-500-spans", full_page=False)

    # Keyboard from the top to the bottom: End, then Enter.
    page.locator('.wf-row[data-span="t0"]').focus()
    page.keyboard.press("End")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert details.locator(".d-title").inner_text() == "tool_163"  # the span before last
    # Filtering 500 rows leaves the match and its ancestor.
    page.fill("#span-filter", "last_tool")
    assert page.locator(".wf-row:visible .wf-label").all_inner_texts() == ["Judge", "last_tool"]
    # Collapsing a role hides its 166 children in one pass.
    page.fill("#span-filter", "")
    page.click('.wf-row[data-span="t0"] .twisty')
    assert page.locator(".wf-row:visible").count() == 500 - 166


def test_a_500_span_trace_compares_with_itself(synthetic_site: Site, open_page):
    page = open_page()
    page.goto(synthetic_site.base_url + "/traces/compare?a=trace_big&b=trace_big")
    page.wait_for_function("document.querySelectorAll('.cc[data-span]').length === 1000")
    assert page.locator(".cd .delta.only").count() == 0  # identical traces align row for row
    assert page.locator("td[data-role=Total][data-metric=model_calls] .delta").inner_text() == "±0"
    page.locator('.cc[data-span="b499"]').click()
    assert page.locator("#details .d-title").inner_text() == "last_tool"


def assert_nothing_ran(page):
    assert page.evaluate("window.__pwned") is None, "injected script ran"
    assert page.locator("main img").count() == 0, "an <img> from trace data became an element"
    assert page.locator("main script").count() == 0, "a <script> from trace data became an element"
    assert page.locator("main b", has_text="bold").count() == 0, (
        "markup from a span name was rendered"
    )


def test_hostile_content_is_shown_as_text_and_never_runs(synthetic_site: Site, open_page):
    site, page = synthetic_site, open_page()
    page.goto(site.base_url + "/traces")
    page.wait_for_selector('tr[data-trace="trace_hostile"]')
    row = page.locator('tr[data-trace="trace_hostile"]')
    assert row.locator("a.game-link").inner_text() == HOSTILE_GAME
    assert HOSTILE in row.inner_text()  # the category, from metadata
    assert_nothing_ran(page)

    page.goto(site.base_url + "/traces/trace_hostile")
    page.wait_for_selector(".wf-row")
    head = page.locator("#trace-head")
    assert HOSTILE in head.locator(".errbox").inner_text()  # the trace's error message
    assert HOSTILE_NAME in page.locator(".wf-row .wf-label").all_inner_texts()
    failed = page.locator(".wf-row.err")
    assert (
        failed.count() == 2 and failed.first.locator(".kicon.k-error").count() == 1
    )  # errors flagged
    page.locator(".wf-row", has=page.locator(".kicon.k-generation")).first.click()
    details = page.locator("#details")
    assert details.locator(".msg-assistant .msg-text").inner_text() == HOSTILE
    failed.first.click()
    assert details.locator(".d-title").inner_text() == HOSTILE_NAME
    assert HOSTILE in details.locator(".errbox").inner_text()
    as_json = HOSTILE.replace('"', '\\"')  # inside a JSON string
    assert [as_json in text for text in details.locator("pre.json").all_inner_texts()[:2]] == [
        True,
        True,
    ]  # error data, arguments
    assert details.locator("pre.text").first.inner_text() == HOSTILE  # the result
    details.locator("summary", has_text="Raw span data").click()
    assert_nothing_ran(page)
    screenshot(page, "trace-hostile-content")

    page.goto(site.base_url + "/traces/compare?a=trace_hostile&b=trace_big")
    page.wait_for_selector(".cmp-role")
    page.locator(".cc.side-a.err").first.click()
    assert HOSTILE in page.locator("#details .errbox").inner_text()
    assert_nothing_ran(page)


def test_a_running_trace_refreshes_until_it_ends(synthetic_site: Site, open_page):
    store = synthetic_site.app.state.service.traces
    row, spans = synthetic_trace(
        "trace_running", {"Questioner": 1}, status="running", ended_at=None
    )
    agent, generation = spans
    agent["ended_at"] = None  # the agent is still at work
    on_app(synthetic_site.app, store.write_batch([row], [], [agent]))
    page = open_page()
    page.goto(synthetic_site.base_url + "/traces/trace_running")
    page.wait_for_selector(".wf-row")
    assert "still running" in page.locator("#status").inner_text()
    assert page.locator(".wf-row .wf-dur").inner_text() == "running"
    assert page.locator("#trace-head .badge.st-running").count() == 1

    agent["id"], generation["parent_id"] = (
        "span_trace_running_agent_done",
        "span_trace_running_agent_done",
    )
    agent["ended_at"] = generation["ended_at"]
    on_app(
        synthetic_site.app,
        store.write_batch(
            [],
            [("trace_running", generation["ended_at"])],
            [agent, generation],
            [("trace_running", None, None)],
        ),
    )
    page.wait_for_selector("#trace-head .badge.st-ok", timeout=10_000)  # polled, no reload
    assert page.locator("#status").is_hidden()
    assert page.locator(".wf-row .wf-label").all_inner_texts()[-2:] == ["Questioner", "last_tool"]


def test_pages_send_a_content_security_policy_and_versioned_assets(synthetic_site: Site):
    for path in ("/traces", "/traces/trace_big", "/traces/compare?a=x&b=y"):
        response = httpx.get(synthetic_site.base_url + path)
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/html"
        )
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert '<a href="/traces" aria-current="page">Traces</a>' in response.text
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text):
            assert re.search(r"\?v=[0-9a-f]{10}$", asset), asset
            assert httpx.get(synthetic_site.base_url + asset).status_code == 200
    hostile = httpx.get(synthetic_site.base_url + '/traces/"><script>x</script>')
    assert "<script>x</script>" not in hostile.text  # the id reaches the page escaped
