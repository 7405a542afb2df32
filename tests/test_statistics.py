"""The statistics of comparisons: intervals, paired tests, sample sizes, and their output.

Pure: built rows in, JSON-ready dicts out. Known values come from textbooks (Newcombe 1998 for
Wilson intervals) or from SciPy itself, called directly on the same differences.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from scipy import stats  # type: ignore[import-untyped]

from quizrelay.comparisons.power import questions_needed_mcnemar, questions_needed_paired
from quizrelay.comparisons.statistics import (
    METRICS,
    arm_summary,
    bootstrap_median,
    by_category,
    compare,
    paired,
    wilson_interval,
)

CATEGORIES = ("number_sequence", "letter_counting", "basic_arithmetic")


def row(index: int, arm: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "index": index,
        "arm": arm,
        "category": CATEGORIES[index % len(CATEGORIES)],
        "status": "completed",
        "correct": True,
        "error_code": None,
        "ttft_ms": 200.0 + index,
        "round_ms": 1000.0 + 10 * index,
        "model_ms": 800.0 + 10 * index,
        "overhead_ms": 200.0,
        "model_calls": 2,
        "input_tokens": 120 + index,
        "output_tokens": 30 + index % 5,
        "cost": 0.000012 * (1 + index % 3),
    }
    return {**base, **fields}


def failed(index: int, arm: str, code: str = "model_timeout", **fields: Any) -> dict[str, Any]:
    return row(index, arm, status="failed", correct=None, error_code=code, **fields)


def slower_arm(n: int = 30, delay: float = 150.0, noise: float = 5.0, seed: int = 1) -> list:
    """Arm "b" takes ``delay`` ms longer than "a" on every question, give or take ``noise``."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        base = rng.uniform(800, 3000)  # questions differ far more than the arms do
        rows.append(row(i, "a", round_ms=base))
        rows.append(row(i, "b", round_ms=base + delay + rng.gauss(0, noise)))
    return rows


def mixed_rows(n: int = 24) -> list[dict[str, Any]]:
    """Two arms with failures, wrong answers, unpriced rounds and varied measurements."""
    rng = random.Random(7)
    rows = []
    for i in range(n):
        base = rng.uniform(900, 2500)  # the question's own length, shared by both arms
        for arm, extra in (("manual", 0.0), ("agents", 120.0)):
            if (arm, i % 8) in {("agents", 3), ("manual", 5)}:
                code = "model_timeout" if i < 12 else "invalid_answer"
                rows.append(failed(i, arm, code, round_ms=99_999.0, ttft_ms=99_999.0))
                continue
            rows.append(
                row(
                    i,
                    arm,
                    correct=rng.random() < (0.8 if arm == "agents" else 0.6),
                    ttft_ms=rng.uniform(100, 400),
                    round_ms=base + extra + rng.gauss(0, 30),
                    overhead_ms=rng.uniform(50, 300) + extra,
                    model_calls=rng.randint(1, 4),
                    input_tokens=rng.randint(100, 900),
                    output_tokens=rng.randint(10, 90),
                    cost=None if i == 0 else rng.uniform(1e-6, 5e-5),
                )
            )
    return rows


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in leaves(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in leaves(v, f"{path}[{i}]")]
    return [(path, value)]


# Wilson ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),
        # Newcombe (1998), Stat Med 17:857, Table I, method 3 (score interval, no correction)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_textbook_values(successes, n, low, high):
    got = wilson_interval(successes, n)
    assert got is not None
    assert got[0] == pytest.approx(low, abs=1e-4)
    assert got[1] == pytest.approx(high, abs=1e-4)


def test_wilson_interval_edges():
    assert wilson_interval(0, 0) is None
    none = wilson_interval(0, 12)
    every = wilson_interval(12, 12)
    assert none is not None and every is not None
    assert none[0] == 0.0 and 0.2 < none[1] < 0.3
    assert every[1] == 1.0 and 0.7 < every[0] < 0.8
    assert every == pytest.approx((1 - none[1], 1.0))  # symmetric
    narrow, wide = wilson_interval(8, 10, 0.80), wilson_interval(8, 10, 0.99)
    assert narrow is not None and wide is not None
    assert wide[0] < narrow[0] < 0.8 < narrow[1] < wide[1]
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


# Bootstrap ---------------------------------------------------------------------------------
def test_bootstrap_median_small_and_degenerate_inputs():
    assert bootstrap_median([]) == {"median": None, "low": None, "high": None, "n": 0}
    assert bootstrap_median([42.0]) == {"median": 42.0, "low": 42.0, "high": 42.0, "n": 1}
    assert bootstrap_median([7, 7, 7, 7]) == {"median": 7.0, "low": 7.0, "high": 7.0, "n": 4}


def test_bootstrap_median_interval_holds_the_median_and_ignores_order():
    rng = random.Random(3)
    values = [rng.lognormvariate(7, 0.5) for _ in range(40)]
    result = bootstrap_median(values)
    assert result["n"] == 40
    assert result["median"] == pytest.approx(sorted(values)[19] / 2 + sorted(values)[20] / 2)
    assert result["low"] < result["median"] < result["high"]
    assert min(values) <= result["low"] and result["high"] <= max(values)
    shuffled = values[:]
    rng.shuffle(shuffled)
    assert bootstrap_median(shuffled) == result  # seeded from the data, not from its order
    assert bootstrap_median(values, digits=1)["median"] == round(result["median"], 1)
    wider = bootstrap_median(values, confidence=0.99)
    assert wider["low"] <= result["low"] and result["high"] <= wider["high"]


# Paired numbers ----------------------------------------------------------------------------
def test_a_real_slowdown_is_significant_and_measured():
    rows = slower_arm()
    result = paired(rows, "a", "b")["metrics"]["round_ms"]
    assert result["n"] == 30
    assert result["test"] == "wilcoxon"
    assert result["p_value"] is not None and result["p_value"] < 0.05
    assert result["significant"] is True
    assert result["reason"] is None
    assert result["median"] == pytest.approx(150, abs=5)
    assert result["low"] <= result["median"] <= result["high"]
    assert result["low"] <= 150 <= result["high"]
    assert [d["index"] for d in result["differences"]] == list(range(30))
    # The same p-value SciPy gives on those differences directly.
    d = [x["difference"] for x in result["differences"]]
    assert result["p_value"] == pytest.approx(stats.wilcoxon(d).pvalue, rel=1e-3)


def test_identical_arms_are_not_significant():
    rows = [row(i, arm, round_ms=1000.0 + 37 * i) for i in range(20) for arm in ("a", "b")]
    result = paired(rows, "a", "b")
    for key in METRICS:
        metric = result["metrics"][key]
        assert metric["p_value"] is None, key
        assert metric["reason"] == "all differences are zero"
        assert metric["significant"] is False
        assert metric["questions_needed"] is None
        assert (metric["median"], metric["low"], metric["high"]) == (0.0, 0.0, 0.0)
    correctness = result["correctness"]
    assert correctness["p_value"] == 1.0 and correctness["significant"] is False
    assert "no discordant pairs" in correctness["reason"]
    assert correctness["questions_needed"] is None


def test_too_few_differences_give_no_p_value_but_a_reason():
    rows = slower_arm(n=5)
    result = paired(rows, "a", "b")["metrics"]["round_ms"]
    assert result["n"] == 5
    assert result["p_value"] is None and result["significant"] is False
    assert "at least 6" in result["reason"]
    assert result["median"] == pytest.approx(150, abs=10)  # still measured


def test_times_pair_completed_rounds_only_and_counts_pair_every_round():
    rows = slower_arm(n=12)
    rows[2 * 4 + 1] = failed(4, "b", round_ms=50_000.0, input_tokens=999)
    metrics = paired(rows, "a", "b")["metrics"]
    assert metrics["round_ms"]["n"] == 11
    assert 4 not in [d["index"] for d in metrics["round_ms"]["differences"]]
    assert metrics["input_tokens"]["n"] == 12
    assert {"index": 4, "difference": 999.0 - 124} in metrics["input_tokens"]["differences"]


# Paired correctness ------------------------------------------------------------------------
def test_mcnemar_significant_when_discordance_is_one_sided():
    # 30 questions: both right on 10, both wrong on 8, only "b" right on 12.
    rows = []
    for i in range(30):
        a_right, b_right = (True, True) if i < 10 else (False, False) if i < 18 else (False, True)
        rows += [row(i, "a", correct=a_right), row(i, "b", correct=b_right)]
    result = paired(rows, "a", "b")["correctness"]
    assert result["table"] == {
        "both_correct": 10,
        "baseline_only": 0,
        "other_only": 12,
        "both_wrong": 8,
    }
    assert result["p_value"] == pytest.approx(stats.binomtest(12, 12).pvalue, rel=1e-3)
    assert result["p_value"] == pytest.approx(2 * 0.5**12, rel=1e-3)
    assert result["significant"] is True
    assert (result["baseline_accuracy"], result["other_accuracy"]) == (0.333, 0.733)
    difference = result["difference"]
    assert difference["value"] == 0.4
    assert 0 < difference["low"] <= 0.4 <= difference["high"]
    assert isinstance(result["questions_needed"], int) and result["questions_needed"] > 0


def test_mcnemar_not_significant_when_discordance_is_balanced():
    rows = []
    for i in range(30):
        a_right, b_right = (True, True) if i < 10 else (True, False) if i < 16 else (False, True)
        if i >= 22:
            a_right = b_right = False
        rows += [row(i, "a", correct=a_right), row(i, "b", correct=b_right)]
    result = paired(rows, "a", "b")["correctness"]
    assert result["table"]["baseline_only"] == result["table"]["other_only"] == 6
    assert result["p_value"] == 1.0 and result["significant"] is False
    assert result["difference"]["value"] == 0.0
    assert result["difference"]["low"] < 0 < result["difference"]["high"]
    assert result["questions_needed"] is None  # no observed difference to detect


def test_unjudged_rounds_are_left_out_of_the_correctness_pairs():
    rows = [row(i, arm) for i in range(10) for arm in ("a", "b")]
    rows[1] = failed(0, "b")
    rows[2] = row(1, "a", correct=None)
    assert paired(rows, "a", "b")["correctness"]["n"] == 8


# Sample sizes ------------------------------------------------------------------------------
def test_questions_needed_grows_as_the_effect_shrinks():
    rng = random.Random(11)
    noise = [rng.gauss(0, 40) for _ in range(30)]
    raw = [questions_needed_paired([effect + e for e in noise]) for effect in (80, 40, 20, 10)]
    needed = [n for n in raw if n is not None]
    assert len(needed) == len(raw)
    assert needed == sorted(needed) and needed[0] < needed[-1]
    # Through the service's output too.
    big = paired(slower_arm(delay=150.0, noise=200.0), "a", "b")["metrics"]["round_ms"]
    small = paired(slower_arm(delay=30.0, noise=200.0), "a", "b")["metrics"]["round_ms"]
    assert small["questions_needed"] > big["questions_needed"]
    # Correctness: a lopsided discordance needs fewer questions than a nearly balanced one.
    lopsided, close = questions_needed_mcnemar(1, 9, 30), questions_needed_mcnemar(4, 6, 30)
    assert lopsided is not None and close is not None and close > lopsided


def test_questions_needed_matches_its_formula_and_is_none_without_a_difference():
    d = [10.0, 30.0, 20.0, 40.0, 0.0, 20.0]
    mean = sum(d) / len(d)
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1))
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert questions_needed_paired(d) == max(6, math.ceil((z * sd / mean) ** 2))
    noisy = [5.0, -3.0, 4.0, -2.0, 1.0, -1.0, 2.0]
    expected = math.ceil((z * stats.tstd(noisy) / (sum(noisy) / len(noisy))) ** 2)
    assert expected > 6 and questions_needed_paired(noisy) == expected
    assert questions_needed_paired([5.0, -5.0]) is None
    assert questions_needed_paired([3.0]) is None
    assert questions_needed_mcnemar(3, 3, 20) is None
    assert questions_needed_mcnemar(0, 0, 20) is None


# Summaries, categories, the whole comparison -----------------------------------------------
def test_arm_summary_counts_match_the_rows():
    rows = [r for r in mixed_rows() if r["arm"] == "agents"]
    summary = arm_summary(rows)
    completed = [r for r in rows if r["status"] == "completed"]
    assert summary["rounds"] == 24
    assert summary["completed"] == len(completed) == 21
    assert summary["errors"] == {"invalid_answer": 1, "model_timeout": 2}
    assert summary["judged"] == 21
    assert summary["correct"] == sum(1 for r in completed if r["correct"])
    assert summary["accuracy"] == round(summary["correct"] / 21, 3)
    assert summary["completion_rate"] == round(21 / 24, 3)
    interval = wilson_interval(summary["correct"], 21)
    assert interval is not None
    assert summary["accuracy_wilson"] == {
        "low": round(interval[0], 3),
        "high": round(interval[1], 3),
    }
    metrics = summary["metrics"]
    # Failed rounds (99 999 ms) are out of the time medians, in the counts.
    for key in ("ttft_ms", "round_ms", "overhead_ms"):
        assert metrics[key]["n"] == 21 and metrics[key]["high"] < 99_999.0
    assert metrics["round_ms"]["median"] == round(
        stats.scoreatpercentile([r["round_ms"] for r in completed], 50), 1
    )
    for key in ("model_calls", "input_tokens", "output_tokens"):
        assert metrics[key]["n"] == 24
    assert metrics["cost"]["n"] == 23  # the unpriced round has no cost
    with pytest.raises(ValueError):
        arm_summary(mixed_rows())


def test_errors_are_counted_by_code():
    rows = [row(0, "a"), failed(1, "a", "model_timeout"), failed(2, "a", "model_timeout")]
    rows.append(failed(3, "a", "rate_limited"))
    summary = arm_summary(rows)
    assert summary["errors"] == {"model_timeout": 2, "rate_limited": 1}
    assert (summary["rounds"], summary["completed"], summary["judged"]) == (4, 1, 1)
    assert summary["metrics"]["round_ms"]["n"] == 1


def test_categories_add_up_to_the_totals():
    rows = mixed_rows()
    categories = by_category(rows)
    assert sorted(categories) == sorted(CATEGORIES)
    for arm in ("manual", "agents"):
        summary = arm_summary([r for r in rows if r["arm"] == arm])
        cells = [categories[c][arm] for c in categories]
        assert sum(c["rounds"] for c in cells) == summary["rounds"]
        assert sum(c["judged"] for c in cells) == summary["judged"]
        assert sum(c["correct"] for c in cells) == summary["correct"]
        for cell in cells:
            assert cell["accuracy"] == round(cell["correct"] / cell["judged"], 3)
            assert cell["wilson"]["low"] <= cell["accuracy"] <= cell["wilson"]["high"]
            assert cell["round_ms"]["high"] < 99_999.0  # failed rounds left out


def test_compare_is_deterministic_json_with_numbers_where_numbers_belong():
    rows = mixed_rows()
    first = compare(rows, ["manual", "agents"], "manual")
    again = compare([dict(r) for r in rows], ["manual", "agents"], "manual")
    text = json.dumps(first, sort_keys=True, allow_nan=False)
    assert text == json.dumps(again, sort_keys=True, allow_nan=False)
    shuffled = rows[:]
    random.Random(2).shuffle(shuffled)
    assert json.dumps(compare(shuffled, ["manual", "agents"], "manual"), sort_keys=True) == text

    assert set(first) == {"arms", "paired", "categories", "baseline", "alpha", "confidence"}
    assert list(first["arms"]) == ["manual", "agents"]
    assert list(first["paired"]) == ["agents"]
    assert (first["baseline"], first["alpha"], first["confidence"]) == ("manual", 0.05, 0.95)
    for path, value in leaves(first):
        assert type(value) in (int, float, str, bool, type(None)), path  # no NumPy scalars
        if isinstance(value, float):
            assert math.isfinite(value), path
        if value is None:  # only the optional fields may be empty with this data
            assert path.endswith((".reason", ".error_code")), path
    pair = first["paired"]["agents"]
    assert pair["pairs"] == 24
    assert pair["metrics"]["round_ms"]["significant"] is True  # 120 ms slower, 24 questions
    assert pair["metrics"]["round_ms"]["median"] > 0


def test_compare_rejects_a_baseline_outside_the_arms_and_duplicate_rounds():
    rows = mixed_rows(4)
    with pytest.raises(ValueError):
        compare(rows, ["manual", "agents"], "other")
    with pytest.raises(ValueError):
        paired([*rows, row(0, "agents")], "manual", "agents")
    only_manual = compare(rows, ["manual"], "manual")
    assert only_manual["paired"] == {} and list(only_manual["arms"]) == ["manual"]
    assert set(only_manual["categories"]["number_sequence"]) == {"manual"}
