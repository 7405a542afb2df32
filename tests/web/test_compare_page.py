"""The compare page in a real browser: a small comparison of the default arms (each pipeline on
the configured model) run live (progress to 6/6, the rounds as they finish), its summary table
and SVG charts with the API's numbers, the list of previous comparisons, and opening a stored
one by URL. Arms over several models, the statistics and the offline report:
test_compare_arms_page.py."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from tests.web.conftest import PHONE_375, GameSite, fits_the_screen, group, screenshot

ROLES = ("Questioner", "Answerer", "Judge")
ARMS = ("agents", "agents-tools", "chat")
"""The page's default arms, each named after its pipeline; chat is the baseline."""


def summary(page, metric: str, arm: str) -> str:
    return page.locator(f'#summary td[data-metric="{metric}"][data-arm="{arm}"]').inner_text()


def bar(page, chart: str, role: str, pipeline: str) -> str:
    return page.locator(
        f'[data-chart="{chart}"] rect[data-group="{role}"][data-series="{pipeline}"]'
    ).get_attribute("data-value")


def to_fixed(value: float, digits: int) -> str:
    """JavaScript's Number(x.toFixed(d)) as text: the exact binary value, ties away from zero."""
    exact = Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{float(exact):g}"


def fmt_ms(ms: float) -> str:
    """QR.fmtMs for the values a scripted round takes (under 10 s)."""
    if ms < 10:
        return f"{to_fixed(ms, 1)} ms"
    if ms < 1000:
        return f"{math.floor(ms + 0.5)} ms"  # Math.round: halves go up
    return f"{to_fixed(ms / 1000, 2)} s"


def test_a_comparison_runs_live_and_reports_with_charts(game_site: GameSite, open_page):
    site, page = game_site, open_page()
    page.goto(site.base_url + "/compare")
    page.wait_for_selector("#categories input[value=arithmetic]")
    page.fill("input[name=rounds]", "2")
    page.check("#categories input[value=arithmetic]")
    page.check("#categories input[value=gcd]")
    page.select_option("select[name=difficulty]", "easy")
    page.fill("input[name=seed]", "7")
    page.click("#setup button[type=submit]")

    page.wait_for_function(
        "document.getElementById('run-count').textContent === '6 / 6 rounds'", timeout=60_000
    )
    assert page.locator("#run-bar").get_attribute("aria-valuenow") == "6"
    assert page.locator("#run-bar").get_attribute("aria-valuemax") == "6"
    rows = page.locator("#progress-table tbody tr")
    assert rows.count() == 6
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.arm)") == [*ARMS, *ARMS]
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.pipeline)") == [*ARMS, *ARMS]
    assert [
        c.strip() for c in page.locator("#progress-table tbody td:nth-child(3)").all_inner_texts()
    ] == ["arithmetic"] * 3 + ["gcd"] * 3
    page.wait_for_selector("#summary table")
    comparison_id = group(r"id=(cmp_[A-Za-z0-9_-]+)", page.url)
    stored = site.api(f"/api/comparisons/{comparison_id}")
    assert stored["status"] == "completed"
    result = stored["result"]
    assert [a["name"] for a in result["settings"]["arms"]] == list(ARMS)
    assert result["baseline"] == "chat"
    trace_links = page.locator("#progress-table a.trace-page").evaluate_all(
        "as => as.map(a => a.getAttribute('href'))"
    )
    assert trace_links == [
        f"/traces/{q['rounds'][p]['trace_id']}" for q in result["questions"] for p in ARMS
    ]

    # The summary table: the API's per-arm statistics, one column per arm.
    heads = page.locator("#summary thead th[data-arm]")
    assert heads.evaluate_all("hs => hs.map(h => h.dataset.arm)") == list(ARMS)
    assert "(baseline)" in page.locator('#summary thead th[data-arm="chat"]').inner_text()
    calls = [summary(page, "model_calls", arm).split(" [")[0] for arm in ARMS]
    assert calls == ["5", "7", "4"]  # scripted: 5 model calls per agents round, 7, 4
    assert [summary(page, "model_calls_total", arm) for arm in ARMS] == ["10", "14", "8"]
    for arm in ARMS:
        stats, plain = result["statistics"]["arms"][arm], result["pipelines"][arm]
        assert summary(page, "completed", arm).startswith("2 / 2 [")
        assert summary(page, "errors", arm) == "none"
        assert summary(page, "cost", arm).startswith("$0")
        ttft = stats["metrics"]["ttft_ms"]
        assert summary(page, "ttft_ms", arm) == (
            f"{fmt_ms(ttft['median'])} [{fmt_ms(ttft['low'])} – {fmt_ms(ttft['high'])}]"
        )
        assert summary(page, "round_p95", arm) == fmt_ms(plain["round_ms"]["p95"])
        overhead = stats["metrics"]["overhead_ms"]["median"]
        assert summary(page, "overhead_ms", arm).startswith(fmt_ms(overhead) + " [")
        assert summary(page, "overhead_share", arm) == f"{plain['overhead_share']:.1%}"
        assert summary(page, "correct", arm) == f"{stats['correct']} / {stats['judged']}"

    # Paired differences against chat: two arms, each with accuracy and every measure.
    groups = page.locator("#paired tbody[data-arm]")
    assert groups.evaluate_all("gs => gs.map(g => g.dataset.arm)") == ["agents", "agents-tools"]
    calls_diff = result["statistics"]["paired"]["agents"]["metrics"]["model_calls"]
    row = page.locator('#paired tr[data-arm="agents"][data-measure="model_calls"]')
    assert row.locator(".pd-diff").inner_text() == "+1" and calls_diff["median"] == 1
    assert row.locator(".pd-verdict").inner_text() == "not significant at n=2"

    # Latency: one dot per round and a median mark per arm, in two strip plots.
    for chart, key in (("round_ms", "round_ms"), ("ttft_ms", "ttft_ms")):
        for pipeline in ARMS:
            series = page.locator(f'[data-chart="{chart}"] g[data-series="{pipeline}"]')
            dots = sorted(
                float(v)
                for v in series.locator("circle.dot").evaluate_all(
                    "cs => cs.map(c => c.dataset.value)"
                )
            )
            assert dots == sorted(q["rounds"][pipeline][key] for q in result["questions"])
            assert (
                float(series.locator("line.median").get_attribute("data-value"))
                == result["pipelines"][pipeline][key]["median"]
            )

    # Per role: the mean of the traces' roll-ups.
    page.wait_for_selector('[data-chart="model_calls"] svg')
    assert [bar(page, "model_calls", r, "agents") for r in ROLES] == ["2", "1", "2"]
    assert [bar(page, "model_calls", r, "chat") for r in ROLES] == ["1", "1", "2"]
    traces = {
        p: [
            site.api(f"/api/traces/{q['rounds'][p]['trace_id']}", content="false")
            for q in result["questions"]
        ]
        for p in ARMS
    }
    for pipeline, loaded in traces.items():
        for role in ROLES:
            mean = sum(t["rollups"]["by_role"][role]["input_tokens"] for t in loaded) / len(loaded)
            assert float(bar(page, "input_tokens", role, pipeline)) == round(mean, 1)
    assert page.locator("#chart-roles svg").count() == 4

    # Per question: every arm's round, links to the traces and to their comparison with chat's.
    for q in result["questions"]:
        row = page.locator(f'#questions tr[data-index="{q["index"]}"]')
        ids = {arm: q["rounds"][arm]["trace_id"] for arm in ARMS}
        for arm, trace_id in ids.items():
            link = row.locator(f'td[data-arm="{arm}"] a')
            assert link.get_attribute("href") == f"/traces/{trace_id}"
        for arm in ("agents", "agents-tools"):
            link = row.locator(f'a.compare-page[data-arm="{arm}"]')
            assert link.get_attribute("href") == f"/traces/compare?a={ids['chat']}&b={ids[arm]}"
        assert q["question"] in row.inner_text()
    screenshot(page, "compare-desktop")

    # Previous comparisons list it; opening it by URL shows the stored result.
    listed = page.locator(f'#history tr[data-comparison="{comparison_id}"]')
    listed.wait_for()
    assert (
        listed.get_attribute("aria-current") == "true" and "arithmetic, gcd" in listed.inner_text()
    )
    page.goto(site.base_url + "/compare")
    page.locator(f'#history tr[data-comparison="{comparison_id}"] a').click()
    page.wait_for_selector("#summary table")
    assert page.url.endswith(f"/compare?id={comparison_id}")
    assert page.locator("#run-count").inner_text() == "6 / 6 rounds"
    assert page.locator("#progress-table tbody tr").count() == 6
    assert summary(page, "model_calls", "chat") == "4 [4 – 4]"
    page.wait_for_selector('[data-chart="output_tokens"] svg')


def test_the_compare_page_at_phone_width_and_a_missing_comparison(game_site: GameSite, open_page):
    site, page = game_site, open_page(PHONE_375)
    page.goto(site.base_url + "/compare")
    page.wait_for_selector("#categories input[value=arithmetic]")
    page.fill("input[name=rounds]", "1")
    page.click("#setup button[type=submit]")
    page.wait_for_selector('[data-chart="model_calls"] svg', timeout=60_000)
    assert page.locator("#run-count").inner_text() == "3 / 3 rounds"
    assert fits_the_screen(page), "the compare page overflows a 375 px screen"
    width = page.locator('[data-chart="round_ms"] svg').evaluate(
        "el => el.getBoundingClientRect().width"
    )
    assert width <= 375
    screenshot(page, "compare-phone")

    page.goto(site.base_url + "/compare?id=cmp_nope")
    page.wait_for_selector("#status.error")
    assert "no comparison with id 'cmp_nope'" in page.locator("#status").inner_text()
    page.console_errors.clear()  # the browser logs the 404 response
