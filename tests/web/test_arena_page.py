"""The arena in a real browser: one question, both pipelines streaming side by side at once,
then both verdicts, timings, tokens and calls, and links to both traces and their comparison."""

from __future__ import annotations

from tests.web.conftest import PHONE_375, GameSite, fits_the_screen, screenshot, wait_for_options


def column(page, pipeline: str):
    return page.locator(f'.arena-col[data-pipeline="{pipeline}"]')


def cell(page, metric: str, pipeline: str) -> str:
    return page.locator(
        f'#arena-summary tr[data-metric="{metric}"] td[data-pipeline="{pipeline}"]'
    ).inner_text()


def test_both_pipelines_stream_side_by_side_on_the_same_question(game_site: GameSite, open_page):
    site, page = game_site, open_page()
    site.pacer.delays = (0.05, 0.01)
    try:
        page.goto(site.base_url + "/arena")
        wait_for_options(page)
        page.select_option("select[name=category]", "arithmetic")
        page.select_option("select[name=difficulty]", "easy")
        page.fill("input[name=seed]", "4242")
        page.click("#setup button[type=submit]")
        # Both run at the same time: each column has a round streaming before either is done.
        page.wait_for_function(
            "document.querySelectorAll('.arena-col .round .lane.active').length === 2",
            timeout=20_000,
        )
        assert page.locator('.round[data-state="done"]').count() == 0
        page.wait_for_selector("#arena-summary:not([hidden])", timeout=30_000)
    finally:
        site.pacer.delays = None
    info = {
        p: column(page, p).locator(".round").evaluate("el => el._view.info")
        for p in ("agents", "chat")
    }
    rounds = {p: site.api(f"/api/rounds/{info[p]['round_id']}") for p in ("agents", "chat")}
    assert rounds["agents"]["seed"] == rounds["chat"]["seed"] == 4242
    assert (
        rounds["agents"]["question"] == rounds["chat"]["question"]
    )  # the same question on both sides
    assert (
        column(page, "agents").locator(".q-text").inner_text()
        == column(page, "chat").locator(".q-text").inner_text()
    )

    for pipeline in ("agents", "chat"):
        col = column(page, pipeline)
        assert col.locator(".round").get_attribute("data-state") == "done"
        assert (
            col.locator(".verdict").get_attribute("data-correct") == "false"
        )  # the scripted model says "42"
        assert "wrong" in cell(page, "verdict", pipeline)
        round_ = rounds[pipeline]
        assert (
            cell(page, "ttft", pipeline)
            == col.locator('[data-stat="ttft"] .stat-value').inner_text()
            != "—"
        )
        assert (
            cell(page, "total_ms", pipeline)
            == col.locator('[data-stat="total"] .stat-value').inner_text()
            != "—"
        )
        usage = round_["usage"]["total"]
        assert cell(page, "input", pipeline) == f"{usage['input_tokens']:,}"
        assert cell(page, "output", pipeline) == f"{usage['output_tokens']:,}"
        assert cell(page, "tokens", pipeline) == f"{usage['total_tokens']:,}"
        assert col.locator(".trace-link").get_attribute("href") == f"/traces/{round_['trace_id']}"
        assert cell(page, "trace", pipeline) == round_["trace_id"].removeprefix("trace_")[:8]
    assert (cell(page, "calls", "agents"), cell(page, "calls", "chat")) == ("5", "4")
    # Handoffs only on the agents side.
    assert column(page, "agents").locator(".handoff-line").all_inner_texts() == [
        "Questioner → Answerer",
        "Answerer → Judge",
    ]
    assert column(page, "chat").locator(".handoff-line").count() == 0
    assert (cell(page, "handoffs", "agents"), cell(page, "handoffs", "chat")) == ("2", "0")
    assert page.locator('#arena-summary tr[data-metric="calls"] .delta').inner_text() == "\u22121"
    screenshot(page, "arena-desktop")

    compare = page.locator("#compare-link")
    a, b = rounds["agents"]["trace_id"], rounds["chat"]["trace_id"]
    assert compare.get_attribute("href") == f"/traces/compare?a={a}&b={b}"
    assert (
        page.locator("input[name=seed]").input_value() != "4242"
    )  # a new seed for the next question
    compare.click()
    page.wait_for_selector(".cmp-role")
    assert page.locator("td[data-role=Total][data-metric=model_calls] .va").inner_text() == "5"


def test_a_custom_question_at_phone_width(game_site: GameSite, open_page):
    site, page = game_site, open_page(PHONE_375)
    page.goto(site.base_url + "/arena")
    wait_for_options(page)
    page.locator(".custom-q summary").click()
    page.fill("textarea[name=question]", "What is six times seven?")
    page.fill("input[name=reference_answer]", "42")
    page.click("#setup button[type=submit]")
    page.wait_for_selector("#arena-summary:not([hidden])", timeout=30_000)
    for pipeline in ("agents", "chat"):
        assert column(page, pipeline).locator(".q-text").inner_text() == "What is six times seven?"
        assert (
            column(page, pipeline).locator(".verdict").get_attribute("data-correct") == "true"
        )  # "42" is right now
        assert "right" in cell(page, "verdict", pipeline)
    assert page.locator("#arena-summary h2").inner_text() == "Your question"
    assert fits_the_screen(page), "the arena overflows a 375 px screen"
    screenshot(page, "arena-phone")

    page.fill("textarea[name=question]", "Only a question")  # a question needs its reference answer
    page.fill("input[name=reference_answer]", "")
    page.click("#setup button[type=submit]")
    assert "reference answer" in page.locator("#status.error").inner_text()


def test_model_output_and_questions_are_shown_as_text(game_site: GameSite, open_page):
    site, page = game_site, open_page()
    hostile_question = '<img src=x onerror="window.__pwned=1"> is <b>this</b> bold?'
    hostile_answer = '<script>window.__pwned=2</script><img src=x onerror="window.__pwned=3">'
    page.goto(site.base_url + "/arena")
    wait_for_options(page)
    page.locator(".custom-q summary").click()
    page.fill("textarea[name=question]", hostile_question)
    page.fill("input[name=reference_answer]", "<i>yes</i>")
    site.pacer.answer = hostile_answer  # the chat pipeline's Answerer writes free text
    try:
        page.click("#setup button[type=submit]")
        page.wait_for_selector("#arena-summary:not([hidden])", timeout=30_000)
    finally:
        site.pacer.answer = None
    chat = column(page, "chat")
    assert chat.locator(".q-text").inner_text() == hostile_question
    assert chat.locator(".say").inner_text() == hostile_answer  # streamed model text
    assert chat.locator(".a-text").inner_text() == hostile_answer
    assert chat.locator(".verdict-ref").inner_text() == "<i>yes</i>"
    assert '"<script>window.' in chat.locator(".verdict-why").inner_text()  # the checker's reason
    assert hostile_question in column(page, "agents").locator(".call-result").first.inner_text()
    assert hostile_answer[:40] in cell(page, "answer", "chat")
    assert page.evaluate("window.__pwned") is None, "injected script ran"
    assert (
        page.locator(
            "main img, main script, main b:has-text('this'), main i:has-text('yes')"
        ).count()
        == 0
    )
