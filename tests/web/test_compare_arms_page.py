"""The compare page with arms, in a real browser: four arms over two named models (two scripted
servers) and the three pipelines, chosen and started from the keyboard alone; the report shows
every arm with the API's numbers (accuracy with its Wilson interval, medians with bootstrap
intervals, as table cells and as error bars), the paired differences against the baseline, the
per-category table and the export links; at 375 px nothing scrolls the page sideways; the
exported HTML report, opened from ``file://`` with the network blocked, renders everything
(the per-role bars from the numbers embedded in it) without a single request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from quizrelay.comparisons.report_html import render_report
from tests.fakes.openai_steps import Step, auto_responder, text
from tests.fakes.scripted_openai import ScriptedOpenAIServer
from tests.support.sse import custom, stream_round
from tests.web.conftest import (
    PHONE_375,
    GameSite,
    fits_the_screen,
    game_site_at,
    group,
    screenshot,
)

MEASURES = ("ttft_ms", "round_ms", "overhead_ms", "model_calls", "input_tokens", "output_tokens")
ROLES = ("Questioner", "Answerer", "Judge")


def clever(body: dict[str, Any]) -> Step:
    """The second model: answers the chat Answerer's arithmetic right, like the auto responder
    otherwise (so its chat arm is more accurate than the baseline)."""
    system = str(body["messages"][0].get("content", ""))
    if "You are the Answerer" in system and not body.get("tools"):
        match = re.search(r"Calculate ([-+*() 0-9]+?)\.", system)
        if match:
            return text(str(int(eval(match.group(1)))))
    return auto_responder(body)


@pytest.fixture(scope="module")
def arms_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GameSite]:
    """The game site on the scripted model, plus a second named model, ``second``, on another
    scripted server."""
    folder = tmp_path_factory.mktemp("web")
    with ScriptedOpenAIServer(model="second", responder=clever) as second:
        models = folder / "models.yaml"
        models.write_text(
            f"models:\n  second:\n    base_url: {second.base_url}\n    model: m-second\n"
            "    profile: llama-cpp\n"
        )
        with game_site_at(folder / "quizrelay.db", models_file=models) as site:
            yield site


@pytest.fixture(scope="module")
def stored(arms_site: GameSite) -> dict[str, Any]:
    """A finished comparison of four arms, started through the API: its result."""
    arms = [
        {"pipeline": "chat", "name": "base"},
        {"pipeline": "chat", "model": "second", "name": "clever",
         "model_settings": {"temperature": 0.0}},
        {"pipeline": "agents", "model": "second", "name": "agents.second"},
        {"pipeline": "agents-tools", "name": "tools"},
    ]  # fmt: skip
    body = {"rounds": 2, "seed": 21, "categories": ["arithmetic", "gcd"], "arms": arms,
            "baseline": "base"}  # fmt: skip
    with httpx.Client(timeout=120) as http:
        events = stream_round(http, f"{arms_site.base_url}/api/comparisons", body)
    assert events[-1].type == "RUN_FINISHED", events[-1].data
    return custom(events, "comparison_summary")[0]


def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches ``selector`` (fails if it never does)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)",
                         selector):  # fmt: skip
            return
    raise AssertionError(f"Tab never reached {selector}")


def focused(page: Any, selector: str) -> bool:
    return page.evaluate("s => document.activeElement.matches(s)", selector)


def attr(locator: Any, name: str) -> float | None:
    """A data-* attribute as the number it holds ("" → None); fails if the element is missing."""
    value = locator.get_attribute(f"data-{name}")
    assert value is not None, (locator, name)
    return None if value == "" else float(value)


def check_report(page: Any, result: dict[str, Any]) -> None:
    """Every arm, interval, paired row and category cell on the page equals the API's."""
    stats = result["statistics"]
    names = [arm["name"] for arm in result["settings"]["arms"]]
    baseline = result["baseline"]
    heads = page.locator("#summary thead th[data-arm]")
    assert heads.evaluate_all("hs => hs.map(h => h.dataset.arm)") == names
    for name in names:
        arm = stats["arms"][name]
        cell = page.locator(f'#summary td[data-arm="{name}"][data-metric="accuracy"]')
        assert attr(cell, "value") == arm["accuracy"]
        assert attr(cell, "low") == arm["accuracy_wilson"]["low"]
        assert attr(cell, "high") == arm["accuracy_wilson"]["high"]
        low, high = arm["accuracy_wilson"]["low"], arm["accuracy_wilson"]["high"]
        assert f"[{low * 100:.1f}% – {high * 100:.1f}%]" in cell.inner_text()
        correct = page.locator(f'#summary td[data-arm="{name}"][data-metric="correct"]')
        assert correct.inner_text() == f"{arm['correct']} / {arm['judged']}"
        bar = page.locator(f'[data-chart="ci-accuracy"] g[data-series="{name}"]')
        assert (attr(bar, "value"), attr(bar, "low"), attr(bar, "high")) == (
            arm["accuracy"], low, high,
        )  # fmt: skip
        assert bar.locator("line.eb-line").count() == 1
        for key in MEASURES:
            want = arm["metrics"][key]
            cell = page.locator(f'#summary td[data-arm="{name}"][data-metric="{key}"]')
            got = (attr(cell, "value"), attr(cell, "low"), attr(cell, "high"))
            assert got == (want["median"], want["low"], want["high"]), (name, key)
            bar = page.locator(f'[data-chart="ci-{key}"] g[data-series="{name}"]')
            got = (attr(bar, "value"), attr(bar, "low"), attr(bar, "high"))
            assert got == (want["median"], want["low"], want["high"]), (name, key)
        plain = result["pipelines"][name]
        p95 = page.locator(f'#summary td[data-arm="{name}"][data-metric="round_p95"]')
        assert attr(p95, "value") == plain["round_ms"]["p95"]

    # Paired differences: one group per arm but the baseline, the API's numbers in each row.
    groups = page.locator("#paired tbody[data-arm]")
    assert groups.evaluate_all("gs => gs.map(g => g.dataset.arm)") == [
        n for n in names if n != baseline
    ]
    for name, paired in stats["paired"].items():
        rows = [("accuracy", {**paired["correctness"], **paired["correctness"]["difference"]})]
        rows += [(key, {**paired["metrics"][key], "value": paired["metrics"][key]["median"]})
                 for key in (*MEASURES, "cost")]  # fmt: skip
        for measure, want in rows:
            row = page.locator(f'#paired tr[data-arm="{name}"][data-measure="{measure}"]')
            assert attr(row.locator(".pd-diff"), "value") == want["value"], (name, measure)
            interval = row.locator(".pd-interval")
            assert (attr(interval, "low"), attr(interval, "high")) == (want["low"], want["high"])
            assert attr(row.locator(".pd-p"), "p") == want["p_value"], (name, measure)
            shown_p = row.locator(".pd-p").inner_text()
            assert shown_p == ("—" if want["p_value"] is None else f"{want['p_value']:g}")
            verdict = row.locator(".pd-verdict").inner_text()
            n = want["n"]
            assert verdict == ("significant" if want["significant"] else
                               f"not significant at n={n}"), (name, measure)  # fmt: skip
            assert attr(row.locator(".pd-needed"), "needed") == want["questions_needed"]
            test = row.locator(".pd-test").inner_text()
            assert test.startswith("McNemar" if measure == "accuracy" else "Wilcoxon")

    # Accuracy per category: every category and arm.
    categories = stats["categories"]
    assert page.locator("#by-category tbody tr[data-category]").evaluate_all(
        "rs => rs.map(r => r.dataset.category)"
    ) == list(categories)
    for category, by_arm in categories.items():
        for name in names:
            cell = page.locator(f'#by-category td[data-category="{category}"][data-arm="{name}"]')
            if name not in by_arm:
                assert cell.inner_text() == "—"
                continue
            want = by_arm[name]
            assert attr(cell, "accuracy") == want["accuracy"]
            assert (attr(cell, "low"), attr(cell, "high")) == (
                want["wilson"]["low"], want["wilson"]["high"],
            )  # fmt: skip
            assert cell.inner_text().startswith(f"{want['correct']} / {want['judged']}")


def test_arms_chosen_with_the_keyboard_and_the_report_matches_the_api(
    arms_site: GameSite, open_page
):
    site, page = arms_site, open_page()
    page.goto(site.base_url + "/compare")
    page.wait_for_selector("#categories input[value=gcd]")
    arms = page.locator("#arm-list fieldset.arm")
    assert arms.count() == 3  # the default: each pipeline on the configured model
    assert arms.evaluate_all("fs => fs.map(f => f.querySelector('select').value)") == [
        "agents", "agents-tools", "chat",
    ]  # fmt: skip
    assert page.locator("#baseline option:checked").inner_text() == "chat"

    tab_to(page, "input[name=rounds]")
    page.keyboard.press("Control+a")
    page.keyboard.type("3")
    # A fourth arm: chat on the second model at temperature 0.3, named "clever".
    tab_to(page, "#add-arm")
    page.keyboard.press("Enter")
    assert arms.count() == 4
    assert focused(page, "#arm-list fieldset.arm:nth-child(4) select[name=arm-pipeline]")
    new = arms.nth(3)
    pipeline = new.locator("select[name=arm-pipeline]")
    assert pipeline.input_value() == "chat"  # every pipeline has an arm on the default model
    page.keyboard.press("ArrowUp")
    assert pipeline.input_value() == "agents-tools"
    page.keyboard.press("ArrowDown")
    assert pipeline.input_value() == "chat"
    page.keyboard.press("Tab")
    assert focused(page, "#arm-list fieldset.arm:nth-child(4) select[name=arm-model]")
    for _ in range(5):
        if new.locator("select[name=arm-model]").input_value() == "second":
            break
        page.keyboard.press("ArrowDown")
    assert new.locator("select[name=arm-model]").input_value() == "second"
    page.keyboard.press("Tab")
    page.keyboard.type("0.3")
    page.keyboard.press("Tab")
    page.keyboard.type("clever")
    # Several models now: the other arms are named after pipeline and model.
    assert page.locator("#baseline option").all_inner_texts() == [
        "agents.scripted-model", "agents-tools.scripted-model", "chat.scripted-model", "clever",
    ]  # fmt: skip
    # A fifth arm, removed again from the keyboard: focus goes on to "Add arm".
    tab_to(page, "#add-arm")
    page.keyboard.press("Enter")
    assert arms.count() == 5
    tab_to(page, "#arm-list fieldset.arm:nth-child(5) .remove-arm")
    page.keyboard.press("Enter")
    assert arms.count() == 4 and focused(page, "#add-arm")
    tab_to(page, "#baseline")
    assert page.locator("#baseline option:checked").inner_text() == "chat.scripted-model"
    tab_to(page, "#categories input[value=arithmetic]")
    page.keyboard.press("Space")
    tab_to(page, "#categories input[value=gcd]")
    page.keyboard.press("Space")
    tab_to(page, "input[name=seed]")
    page.keyboard.type("31")
    tab_to(page, "#setup button[type=submit]")
    page.keyboard.press("Enter")

    page.wait_for_function(
        "document.getElementById('run-count').textContent === '12 / 12 rounds'", timeout=90_000
    )
    page.wait_for_selector("#paired table")
    comparison_id = group(r"id=(cmp_[A-Za-z0-9_-]+)", page.url)
    stored = site.api(f"/api/comparisons/{comparison_id}")
    assert stored["status"] == "completed"
    result = stored["result"]
    settings = result["settings"]
    ran = [(a["name"], a["pipeline"], a["model"], a["model_settings"]) for a in settings["arms"]]
    assert ran == [
        ("agents.scripted-model", "agents", "scripted-model", {}),
        ("agents-tools.scripted-model", "agents-tools", "scripted-model", {}),
        ("chat.scripted-model", "chat", "scripted-model", {}),
        ("clever", "chat", "second", {"temperature": 0.3}),
    ]  # fmt: skip
    assert result["baseline"] == "chat.scripted-model"
    assert (settings["rounds"], settings["seed"]) == (3, 31)
    assert settings["categories"] == ["arithmetic", "gcd"]
    played = page.locator("#progress-table tbody tr").evaluate_all(
        "rs => rs.map(r => r.dataset.arm)"
    )
    assert played[:4] == [name for name, *_ in ran]

    check_report(page, result)
    assert result["statistics"]["arms"]["clever"]["correct"] >= 1  # the second model is clever
    clever_row = page.locator('#summary td[data-arm="clever"][data-metric="settings"]')
    assert clever_row.inner_text() == "temperature 0.3"

    # Export links: the API's export URLs.
    links = page.locator("#exports a.export")
    assert links.evaluate_all("as => as.map(a => a.getAttribute('href'))") == [
        f"/api/comparisons/{comparison_id}/export?format={f}" for f in ("json", "csv", "html")
    ]
    with page.expect_download() as download:
        page.locator('#exports a[data-format="csv"]').click()
    assert download.value.suggested_filename == f"quizrelay-{comparison_id}.csv"
    # Per question: each arm's round, and links comparing each arm's trace with the baseline's.
    for q in result["questions"]:
        row = page.locator(f'#questions tr[data-index="{q["index"]}"]')
        for name, played in q["rounds"].items():
            link = row.locator(f'td[data-arm="{name}"] a.trace-page')
            assert link.get_attribute("href") == f"/traces/{played['trace_id']}"
        hrefs = row.locator("a.compare-page").evaluate_all(
            "as => Object.fromEntries(as.map(a => [a.dataset.arm, a.getAttribute('href')]))"
        )
        assert hrefs == q["compare_pages"] and len(hrefs) == 3
    page.wait_for_selector('[data-chart="model_calls"] svg')
    assert page.locator('[data-chart="model_calls"] rect[data-series="clever"]').count() == 3
    screenshot(page, "compare-arms-desktop")


def test_the_report_of_four_arms_at_phone_width(
    arms_site: GameSite, stored: dict[str, Any], open_page
):
    site, page = arms_site, open_page(PHONE_375)
    page.goto(site.base_url + "/compare")
    page.wait_for_selector("#arm-list fieldset.arm")
    page.focus("#add-arm")
    page.keyboard.press("Enter")
    assert page.locator("#arm-list fieldset.arm").count() == 4
    assert fits_the_screen(page), "the arms form overflows a 375 px screen"

    page.goto(site.base_url + f"/compare?id={stored['id']}")
    page.wait_for_selector('[data-chart="model_calls"] svg', timeout=30_000)
    assert page.locator("#run-count").inner_text() == "8 / 8 rounds"
    check_report(page, stored)
    assert fits_the_screen(page), "the report overflows a 375 px screen"
    for chart in ("ci-accuracy", "ci-round_ms", "round_ms", "model_calls"):
        width = page.locator(f'[data-chart="{chart}"] svg').evaluate(
            "el => el.getBoundingClientRect().right"
        )
        assert width <= 375, chart
    # Wide tables scroll inside their own wrappers, not the page.
    wrap = page.locator("#paired")
    assert wrap.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
    screenshot(page, "compare-arms-phone")


NETWORK_PROBE = """
window.__calls = [];
const realFetch = window.fetch;
window.fetch = function (...args) {
  window.__calls.push("fetch " + String(args[0]));
  return realFetch.apply(this, args);
};
const open = XMLHttpRequest.prototype.open;
XMLHttpRequest.prototype.open = function (...args) {
  window.__calls.push("xhr " + args[1]);
  return open.apply(this, args);
};
"""
"""Counts the page's fetch and XMLHttpRequest calls in ``window.__calls``."""


def open_offline(page: Any, path: Path) -> list[str]:
    """Open ``path`` from file:// with every request aborted; returns the URLs requested."""
    requested: list[str] = []
    page_url = path.as_uri()

    def block(route: Any) -> None:  # the file itself may load; nothing else
        if route.request.url == page_url:
            route.continue_()
        else:
            route.abort()

    page.context.route("**/*", block)
    page.on("request", lambda request: requested.append(request.url))
    page.add_init_script(NETWORK_PROBE)
    page.goto(page_url)
    page.wait_for_selector("#paired table")
    return [url for url in requested if url != page_url]


def test_the_exported_html_report_works_offline(
    arms_site: GameSite, stored: dict[str, Any], open_page, tmp_path: Path
):
    site, page = arms_site, open_page()
    page.goto(site.base_url + f"/compare?id={stored['id']}")
    page.wait_for_selector('[data-chart="model_calls"] svg', timeout=30_000)
    live_bars = page.locator("#chart-roles rect[data-series]").evaluate_all(
        "rs => rs.map(r => [r.dataset.group, r.dataset.series, r.dataset.value])"
    )
    with page.expect_download() as download:
        page.locator('#exports a[data-format="html"]').click()
    saved = tmp_path / "report.html"
    download.value.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "url(http" not in html and "@import" not in html

    offline = open_page()
    assert open_offline(offline, saved) == []
    check_report(offline, stored)
    assert offline.evaluate("window.__calls") == []
    assert offline.locator("#chart-roles svg").count() == 4
    bars = offline.locator("#chart-roles rect[data-series]").evaluate_all(
        "rs => rs.map(r => [r.dataset.group, r.dataset.series, r.dataset.value])"
    )
    assert bars == live_bars and len(bars) >= 3 * len(ROLES) * 4
    # The per-role numbers are the means of the traces' roll-ups, as the API gives them.
    for arm in ("base", "clever"):
        traces = [site.api(f"/api/traces/{q['rounds'][arm]['trace_id']}", content="false")
                  for q in stored["questions"]]  # fmt: skip
        for role in ROLES:
            mean = sum(t["rollups"]["by_role"][role]["model_calls"] for t in traces) / len(traces)
            bar = offline.locator(
                f'[data-chart="model_calls"] rect[data-group="{role}"][data-series="{arm}"]'
            )
            assert float(bar.get_attribute("data-value")) == round(mean, 1)
    assert offline.locator("a.trace-page, #exports").count() == 0
    screenshot(offline, "compare-arms-offline")

    # A report saved without the per-role numbers says so, and still requests nothing.
    bare = tmp_path / "bare.html"
    bare.write_text(render_report(stored), encoding="utf-8")
    missing = open_page()
    assert open_offline(missing, bare) == []
    assert "not in this file" in missing.locator("#chart-roles").inner_text()
    assert missing.evaluate("window.__calls") == []
    check_report(missing, stored)
