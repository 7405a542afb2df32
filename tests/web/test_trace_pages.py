"""The trace pages in a real browser, on one scripted round of each pipeline: the list with its
filters, paging and A/B picking; the waterfall and its details panel (mouse and keyboard); the
role-aligned comparison; phone width; a missing trace."""

from __future__ import annotations

import re

from tests.web.conftest import PHONE, Site, screenshot


def rows(page):
    return page.locator("#traces tbody tr[data-trace]")


def test_list_shows_both_traces_with_filters_paging_and_links(rounds_site: Site, open_page):
    site, page = rounds_site, open_page()
    agents_id, chat_id = site.agents["trace_id"], site.chat["trace_id"]
    page.goto(site.base_url + "/traces")
    page.wait_for_selector("#traces tbody tr[data-trace]")
    assert rows(page).count() == 2
    assert page.locator("#count").inner_text() == "2 traces"
    assert [rows(page).nth(i).get_attribute("data-trace") for i in range(2)] == [
        chat_id,
        agents_id,
    ]  # newest first
    for info, trace_id in ((site.agents, agents_id), (site.chat, chat_id)):
        row = page.locator(f'tr[data-trace="{trace_id}"]')
        assert row.locator("a.trace-link").get_attribute("href") == f"/traces/{trace_id}"
        assert (
            row.locator("a.round-link").get_attribute("href") == f"/api/rounds/{info['round_id']}"
        )
    agents_row = page.locator(f'tr[data-trace="{agents_id}"]')
    assert agents_row.locator(".badge.pl-agents").inner_text() == "agents"
    assert agents_row.locator("td.num").nth(1).inner_text() == "5"  # model calls
    screenshot(page, "traces-list")

    page.select_option("select[name=pipeline]", "chat")  # a select applies at once
    page.wait_for_function("document.querySelectorAll('#traces tbody tr[data-trace]').length === 1")
    assert rows(page).first.get_attribute("data-trace") == chat_id
    assert "pipeline=chat" in page.url and page.locator("#count").inner_text() == "1 trace"
    page.go_back()  # the filters live in the URL, so Back restores them
    page.wait_for_function("document.querySelectorAll('#traces tbody tr[data-trace]').length === 2")
    assert page.input_value("select[name=pipeline]") == ""

    page.fill("input[name=game_id]", "game_a")
    page.click("#filters button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#traces tbody tr[data-trace]').length === 1")
    assert rows(page).first.get_attribute("data-trace") == agents_id
    page.select_option("select[name=status]", "error")
    page.wait_for_selector("#traces td.empty")
    assert "No traces match" in page.locator("#traces td.empty").inner_text()
    page.click("#reset")
    page.wait_for_function("document.querySelectorAll('#traces tbody tr[data-trace]').length === 2")
    page.fill("input[name=since]", "2999-01-01T00:00:00")
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#traces td.empty")
    assert "since=2999-01-0" in page.url

    page.goto(site.base_url + "/traces?limit=1")  # paging
    page.wait_for_selector("#traces tbody tr[data-trace]")
    assert rows(page).count() == 1 and "1–1 of 2" in page.locator("#pager").inner_text()
    page.click("#pager a[rel=next]")
    page.wait_for_function(
        f"document.querySelector('#traces tbody tr').dataset.trace === {agents_id!r}"
    )
    assert "offset=1" in page.url and "2–2 of 2" in page.locator("#pager").inner_text()

    page.goto(site.base_url + "/traces")  # pick A and B, then compare
    page.wait_for_selector("#traces tbody tr[data-trace]")
    assert page.locator("#compare-go").get_attribute("aria-disabled") == "true"
    page.locator(f'tr[data-trace="{agents_id}"] input[name=pick-a]').check()
    page.locator(f'tr[data-trace="{chat_id}"] input[name=pick-b]').check()
    assert (
        page.locator("#compare-go").get_attribute("href")
        == f"/traces/compare?a={agents_id}&b={chat_id}"
    )
    page.click("#compare-go")
    page.wait_for_selector(".cmp-role")
    assert page.url.endswith(f"/traces/compare?a={agents_id}&b={chat_id}")


def test_waterfall_shows_the_span_tree_on_one_axis_and_details(rounds_site: Site, open_page):
    site, page = rounds_site, open_page()
    trace_id = site.agents["trace_id"]
    trace = site.api(f"/api/traces/{trace_id}")
    spans = trace["spans"]
    page.goto(f"{site.base_url}/traces/{trace_id}")
    page.wait_for_selector(".wf-row")
    assert page.locator(".wf-row").count() == len(spans)

    # Header: pipeline, status, round and game links, totals, roll-ups per role, time split.
    head = page.locator("#trace-head")
    assert (
        head.locator(".badge.pl-agents").inner_text() == "agents"
        and head.locator(".badge.st-ok").count() == 1
    )
    assert (
        head.locator("a[data-link=round]").get_attribute("href")
        == f"/api/rounds/{site.agents['round_id']}"
    )
    assert head.locator("a[data-link=game]").inner_text() == "game_a"
    assert head.locator("tr[data-role=Questioner] td[data-metric=model_calls]").inner_text() == "2"
    assert head.locator("tr[data-role=Total] td[data-metric=input_tokens]").inner_text() == "275"
    assert "Model time" in head.locator(".timesplit").inner_text()

    # Names of every kind, in tree order, indented by depth.
    labels = page.locator(".wf-row .wf-label").all_inner_texts()
    assert labels == [s["name"] for s in spans]
    assert {
        "Questioner",
        "scripted-model",
        "draw_question",
        "Questioner → Answerer",
        "submit_verdict",
    } <= set(labels)
    assert page.locator(".wf-row .kicon.k-handoff").count() == 2
    # Bars on one time axis: positioned by start, the Judge after the Answerer after the Questioner.
    ticks = page.locator(".wf-axis-track .tick").all_inner_texts()
    assert (
        len(ticks) >= 3
        and ticks[0] == "0"
        and all(re.fullmatch(r"[\d.]+ (ms|s)", t) for t in ticks[1:])
    )
    boxes = [
        page.locator(f'.wf-row[data-span="t{i}"] .wf-bar').bounding_box() for i in range(len(spans))
    ]
    agent_x = [boxes[i]["x"] for i, s in enumerate(spans) if s["kind"] == "agent"]
    assert agent_x == sorted(agent_x) and agent_x[0] < agent_x[-1]
    for i, span in enumerate(spans):
        if span["parent_id"]:  # a child's bar lies inside its parent's
            parent = boxes[next(j for j, s in enumerate(spans) if s["id"] == span["parent_id"])]
            assert parent["x"] - 1 <= boxes[i]["x"] <= parent["x"] + parent["width"] + 1
    screenshot(page, "trace-waterfall")

    # A click on a generation: its messages (role and content, tool calls) and tokens.
    first_generation = next(i for i, s in enumerate(spans) if s["kind"] == "generation")
    page.click(f'.wf-row[data-span="t{first_generation}"]')
    details = page.locator("#details")
    assert details.locator(".d-title").inner_text() == "scripted-model"
    text = details.inner_text()
    assert (
        "input messages" in text.lower()
        and "in 50 · out 3" in text
        and "Time to first token" in text
    )
    assert details.locator(".msg-system").count() == 1 and details.locator(".msg-user").count() == 1
    assert "Start a new quiz round" in details.locator(".msg-user").inner_text()
    assert "draw_question" in details.locator(".toolcall").inner_text()  # the output's tool call
    assert (
        page.locator(f'.wf-row[data-span="t{first_generation}"]').get_attribute("aria-selected")
        == "true"
    )
    screenshot(page, "trace-generation-details")

    # A click on a function: arguments (pretty JSON) and result.
    verdict = next(i for i, s in enumerate(spans) if s["name"] == "submit_verdict")
    page.click(f'.wf-row[data-span="t{verdict}"]')
    assert details.locator(".d-title").inner_text() == "submit_verdict"
    arguments = details.locator("pre.json").first.inner_text()
    assert '"explanation": "Doubling."' in arguments and '"correct": true' in arguments
    draw = next(i for i, s in enumerate(spans) if s["name"] == "draw_question")
    page.click(f'.wf-row[data-span="t{draw}"]')
    assert "3, 6, 12, 24, ?" in details.inner_text()  # the tool's result: the question
    screenshot(page, "trace-function-details")

    # Keyboard: arrows move, Enter opens; ← collapses a subtree and → expands it.
    page.locator('.wf-row[data-span="t0"]').focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert details.locator(".d-title").inner_text() == spans[1]["name"]
    page.locator('.wf-row[data-span="t0"]').focus()
    page.keyboard.press("ArrowLeft")
    questioner_children = sum(1 for s in spans if s["role"] == "Questioner" and s["depth"] > 0)
    assert page.locator(".wf-row:visible").count() == len(spans) - questioner_children
    page.keyboard.press("ArrowRight")
    assert page.locator(".wf-row:visible").count() == len(spans)
    # The filter keeps matches and their ancestors; a span's permalink selects it.
    page.fill("#span-filter", "check_answer")
    assert page.locator(".wf-row:visible .wf-label").all_inner_texts() == ["Judge", "check_answer"]
    page.goto(f"{site.base_url}/traces/{trace_id}#span={spans[verdict]['id']}")
    page.wait_for_selector("#details .d-title")
    assert details.locator(".d-title").inner_text() == "submit_verdict"


def test_compare_aligns_both_waterfalls_by_role_with_differences(rounds_site: Site, open_page):
    site, page = rounds_site, open_page()
    a, b = site.agents["trace_id"], site.chat["trace_id"]
    spans_a = site.api(f"/api/traces/{a}")["spans"]
    spans_b = site.api(f"/api/traces/{b}")["spans"]
    page.goto(f"{site.base_url}/traces/compare?a={a}&b={b}")
    page.wait_for_selector(".cmp-role")

    cell = page.locator("td[data-role=Questioner][data-metric=model_calls]")
    assert cell.locator(".va").inner_text() == "2" and cell.locator(".vb").inner_text() == "1"
    assert cell.locator(".delta").inner_text() == "\u22121" and "less" in cell.locator(
        ".delta"
    ).get_attribute("class")
    handoffs = page.locator("td[data-role=Questioner][data-metric=handoffs] .delta")
    assert handoffs.inner_text() == "\u22121"
    total = page.locator("td[data-role=Total][data-metric=model_calls]")
    assert (
        total.locator(".va").inner_text(),
        total.locator(".vb").inner_text(),
        total.locator(".delta").inner_text(),
    ) == ("5", "4", "\u22121")
    tokens = page.locator("td[data-role=Judge][data-metric=input_tokens] .delta")
    assert tokens.inner_text() == "±0"  # same Judge prompts in this script: 60 + 70 on both sides
    assert "1 fewer model call" in page.locator(".headline").inner_text()

    # Both waterfalls, every span, in role sections aligned across the two sides.
    assert page.locator(".cc.side-a[data-span]").count() == len(spans_a)
    assert page.locator(".cc.side-b[data-span]").count() == len(spans_b)
    assert page.locator(".cmp-role").evaluate_all("els => els.map(e => e.dataset.role)") == [
        "Questioner",
        "Answerer",
        "Judge",
    ]
    for role in ("Questioner", "Answerer", "Judge"):
        section = page.locator(f'.cmp-role[data-role="{role}"]')
        first_row = section.locator(".cr:not(.cr-axis)").first
        assert first_row.locator(".side-a .wf-label").inner_text() == role
        assert first_row.locator(".side-b .wf-label").inner_text() == role
    questioner = page.locator('.cmp-role[data-role="Questioner"]')
    draw_row = questioner.locator(
        ".cr", has=page.locator(".side-a .wf-label", has_text="draw_question")
    )
    assert (
        draw_row.locator(".side-b .wf-label").inner_text() == "draw_question"
    )  # same step, same row
    only_a = questioner.locator(".cd .delta.only").all_inner_texts()
    assert only_a == [
        "only A",
        "only A",
    ]  # the second model call and the handoff exist only in agents
    judge = page.locator('.cmp-role[data-role="Judge"]')
    assert judge.locator(".cd .delta.only").count() == 0  # same four steps on both sides
    screenshot(page, "compare")

    # A span on either side opens its details; Escape closes them.
    page.locator(
        ".cc.side-b[data-span]", has=page.locator(".wf-label", has_text="check_answer")
    ).click()
    drawer = page.locator("#details")
    assert drawer.is_visible() and "Side B" in drawer.locator(".d-side").inner_text()
    assert drawer.locator(".d-title").inner_text() == "check_answer"
    screenshot(page, "compare-details", full_page=False)
    page.keyboard.press("Escape")
    assert drawer.is_hidden()

    page.goto(f"{site.base_url}/traces/compare?a={a}&b=trace_nope")  # a missing side is explained
    page.wait_for_selector("#status.error")
    assert "trace_nope" in page.locator("#status").inner_text()
    page.console_errors.clear()  # the browser logs the 404 response


def test_pages_work_at_phone_width(rounds_site: Site, open_page):
    site, page = rounds_site, open_page(PHONE)
    a, b = site.agents["trace_id"], site.chat["trace_id"]
    fits = "document.documentElement.scrollWidth <= window.innerWidth + 1"
    for path, ready, name in (
        (f"/traces/{a}", ".wf-row", "phone-trace"),
        ("/traces", "tr[data-trace]", "phone-list"),
        (f"/traces/compare?a={a}&b={b}", ".cmp-role", "phone-compare"),
    ):
        page.goto(site.base_url + path)
        page.wait_for_selector(ready)
        assert page.evaluate(fits), f"{path} overflows the phone screen"
        screenshot(page, name)
    page.goto(f"{site.base_url}/traces/{a}")
    page.wait_for_selector(".wf-row")
    waterfall = page.locator("#waterfall")
    assert waterfall.evaluate(
        "el => el.scrollWidth > el.clientWidth"
    )  # the waterfall scrolls sideways
    page.locator(".wf-row").nth(2).click()
    assert page.locator("#details .d-title").is_visible()


def test_a_missing_trace_says_so(rounds_site: Site, open_page):
    page = open_page()
    page.goto(rounds_site.base_url + "/traces/trace_nope")
    page.wait_for_selector("#status.error")
    assert "no trace with id 'trace_nope'" in page.locator("#status").inner_text()
    page.console_errors.clear()  # the browser logs the 404 response
