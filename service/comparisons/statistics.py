"""The statistics of a comparison: intervals, paired tests and how many questions would do.

A comparison plays the same questions (same seed, same question) through several arms; a played
round is a dict with ``index``, ``arm``, ``category``, ``status``, ``correct``, ``error_code``
and the measurements ``ttft_ms``, ``round_ms``, ``model_ms``, ``overhead_ms``, ``model_calls``,
``input_tokens``, ``output_tokens``, ``cost``. Because the questions are shared, arms are
compared *per question* (paired by ``index``): that removes the question-to-question spread,
which is usually far larger than the difference between arms.

- Proportions (completion, accuracy): Wilson score intervals.
- Medians: percentile bootstrap intervals. Percentile rather than BCa because BCa's acceleration
  comes from a jackknife, which for a median of small samples with ties (rounded milliseconds,
  integer token counts) is unstable or degenerate (SciPy then returns NaN); the percentile
  interval is always defined and, for the median, about as accurate.
- Correctness between arms: McNemar's exact test (a two-sided binomial test on the discordant
  pairs) and a paired bootstrap interval for the difference in accuracy.
- Numbers between arms: per-question differences, their median with a paired bootstrap interval
  (the bootstrap of the differences) and the Wilcoxon signed-rank test.
- ``questions_needed``: rough sample sizes, see ``power.py``.

Deterministic: every bootstrap is seeded from a hash of its (sorted) input, so the same rows
always give the same numbers. Rounded once, here, so the API, page, CLI and exports agree:
proportions to 3 decimals, milliseconds to 1, tokens and calls to 2, cost to 8, p-values to 4
significant digits. The output is plain JSON: no NumPy types, no NaN or infinity (None instead).
Pure: standard library, NumPy and SciPy only.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from .power import (
    ALPHA,
    MIN_WILCOXON_PAIRS,
    questions_needed_mcnemar,
    questions_needed_paired,
)

CONFIDENCE = 0.95
RESAMPLES = 2000

# Measured after the round completed (failed rounds excluded) vs. counted whenever present.
TIME_METRICS = ("ttft_ms", "round_ms", "overhead_ms")
COUNT_METRICS = ("model_calls", "input_tokens", "output_tokens", "cost")
METRICS = (*TIME_METRICS, *COUNT_METRICS)
DIGITS = {
    "ttft_ms": 1,
    "round_ms": 1,
    "overhead_ms": 1,
    "model_calls": 2,
    "input_tokens": 2,
    "output_tokens": 2,
    "cost": 8,
}
PROPORTION_DIGITS = 3

Row = Mapping[str, Any]
Interval = dict[str, float | None]


def _round(value: Any, digits: int) -> float | None:
    """A plain, finite float rounded to ``digits``; None for None, NaN or infinity."""
    if value is None:
        return None
    number = float(value)
    return round(number, digits) + 0.0 if math.isfinite(number) else None  # + 0.0: no -0.0


def _p_value(p: float) -> float:
    return float(f"{min(max(p, 0.0), 1.0):.4g}")


def _number(value: Any) -> float | None:
    """A measurement as a finite float, or None when it is missing (None, NaN, bool, text)."""
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _seed(values: Sequence[float], *extra: object) -> int:
    text = ",".join(repr(v) for v in values) + "|" + "|".join(repr(e) for e in extra)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def wilson_interval(
    successes: int, n: int, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Wilson score interval for ``successes`` out of ``n`` (unrounded); None when n == 0."""
    if n == 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..{n}, got {successes}")
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def _wilson(successes: int, n: int, confidence: float) -> Interval | None:
    interval = wilson_interval(successes, n, confidence)
    if interval is None:
        return None
    return {
        "low": _round(interval[0], PROPORTION_DIGITS),
        "high": _round(interval[1], PROPORTION_DIGITS),
    }


def _proportion(successes: int, n: int) -> float | None:
    return _round(successes / n, PROPORTION_DIGITS) if n else None


def _median(sample: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(sample, axis=axis)


def _mean(sample: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(sample, axis=axis)


def _bootstrap(
    values: Iterable[float],
    statistic: Callable[..., np.ndarray],
    confidence: float,
    resamples: int,
) -> tuple[float, float, float, int] | None:
    """(estimate, low, high, n) by a seeded percentile bootstrap; None without values."""
    ordered = sorted(values)  # the order of the rows must not change the resamples
    if not ordered:
        return None
    sample = np.asarray(ordered, dtype=float)
    estimate = float(statistic(sample))
    if ordered[0] == ordered[-1]:  # one distinct value (or a single value): nothing to resample
        return estimate, estimate, estimate, len(ordered)
    rng = np.random.default_rng(_seed(ordered, statistic.__name__, confidence, resamples))
    result = stats.bootstrap(
        (sample,),
        statistic,
        n_resamples=resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        rng=rng,
    )
    ci = result.confidence_interval
    return estimate, float(ci.low), float(ci.high), len(ordered)


def bootstrap_median(
    values: Iterable[float],
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    *,
    digits: int | None = None,
) -> dict[str, Any]:
    """Median with a seeded percentile bootstrap interval: ``{"median", "low", "high", "n"}``.

    One value, or all values equal: the interval is [value, value]. No values: median, low and
    high are None (n = 0). ``digits`` rounds the three numbers (None: unrounded).
    """
    result = _bootstrap(values, _median, confidence, resamples)
    if result is None:
        return {"median": None, "low": None, "high": None, "n": 0}
    median, low, high, n = result

    def out(v: float) -> float | None:
        return _round(v, digits) if digits is not None else v

    return {"median": out(median), "low": out(low), "high": out(high), "n": n}


def _values(rows: Iterable[Row], key: str) -> list[float]:
    return [v for v in (_number(r.get(key)) for r in rows) if v is not None]


def arm_summary(
    rows: Sequence[Row], confidence: float = CONFIDENCE, resamples: int = RESAMPLES
) -> dict[str, Any]:
    """One arm's rounds, summarised (give it the rows of one arm; ValueError for several).

    Times (``TIME_METRICS``) from completed rounds only; counts and cost (``COUNT_METRICS``) from
    every round that has a value (a failed round still spent its calls and tokens).
    """
    if len({r["arm"] for r in rows}) > 1:
        raise ValueError("arm_summary takes the rounds of one arm")
    completed = [r for r in rows if r["status"] == "completed"]
    judged = [r for r in rows if r.get("correct") is not None]
    correct = sum(1 for r in judged if r["correct"])
    errors = Counter(str(r["error_code"]) for r in rows if r.get("error_code"))
    return {
        "rounds": len(rows),
        "completed": len(completed),
        "completion_rate": _proportion(len(completed), len(rows)),
        "completion_wilson": _wilson(len(completed), len(rows), confidence),
        "errors": dict(sorted(errors.items())),
        "judged": len(judged),
        "correct": correct,
        "accuracy": _proportion(correct, len(judged)),
        "accuracy_wilson": _wilson(correct, len(judged), confidence),
        "metrics": {
            key: bootstrap_median(
                _values(completed if key in TIME_METRICS else rows, key),
                confidence,
                resamples,
                digits=DIGITS[key],
            )
            for key in METRICS
        },
    }


def _by_index(rows: Iterable[Row], arm: str) -> dict[int, Row]:
    found: dict[int, Row] = {}
    for row in rows:
        if row["arm"] != arm:
            continue
        if row["index"] in found:
            raise ValueError(f"arm {arm!r} has more than one round for question {row['index']}")
        found[row["index"]] = row
    return found


def _significant(p: float | None) -> bool:
    return p is not None and p < ALPHA


def _paired_correctness(
    pairs: list[tuple[Row, Row]], confidence: float, resamples: int
) -> dict[str, Any]:
    judged = [
        (b, o) for b, o in pairs if b.get("correct") is not None and o.get("correct") is not None
    ]
    table = Counter((bool(b["correct"]), bool(o["correct"])) for b, o in judged)
    baseline_only, other_only = table[(True, False)], table[(False, True)]
    discordant = baseline_only + other_only
    n = len(judged)
    p: float | None
    if n == 0:
        p, reason = None, "no question was judged in both arms"
    elif discordant == 0:
        p, reason = 1.0, "no discordant pairs: both arms were right and wrong on the same questions"
    else:
        p, reason = float(stats.binomtest(other_only, discordant, 0.5).pvalue), None
    diffs = [float(bool(o["correct"])) - float(bool(b["correct"])) for b, o in judged]
    boot = _bootstrap(diffs, _mean, confidence, resamples)
    return {
        "n": n,
        "table": {
            "both_correct": table[(True, True)],
            "baseline_only": baseline_only,
            "other_only": other_only,
            "both_wrong": table[(False, False)],
        },
        "baseline_accuracy": _proportion(sum(1 for b, _ in judged if b["correct"]), n),
        "other_accuracy": _proportion(sum(1 for _, o in judged if o["correct"]), n),
        "difference": {
            "value": _round(boot[0], 3) if boot else None,
            "low": _round(boot[1], 3) if boot else None,
            "high": _round(boot[2], 3) if boot else None,
        },
        "test": "mcnemar_exact",
        "p_value": None if p is None else _p_value(p),
        "significant": _significant(p),
        "reason": reason,
        "questions_needed": questions_needed_mcnemar(baseline_only, other_only, n),
    }


def _paired_metric(
    key: str, pairs: list[tuple[Row, Row]], confidence: float, resamples: int
) -> dict[str, Any]:
    digits = DIGITS[key]
    if key in TIME_METRICS:
        pairs = [(b, o) for b, o in pairs if b["status"] == o["status"] == "completed"]
    differences: list[dict[str, Any]] = []
    for b, o in pairs:
        bv, ov = _number(b.get(key)), _number(o.get(key))
        if bv is not None and ov is not None:
            # Rounded before testing, so float noise does not split ties (SciPy's advice).
            differences.append({"index": b["index"], "difference": _round(ov - bv, digits)})
    d = [float(x["difference"]) for x in differences]
    nonzero = [x for x in d if x != 0]
    p: float | None = None
    reason: str | None = None
    if not d:
        reason = "no question has a value in both arms"
    elif not nonzero:
        reason = "all differences are zero"
    elif len(nonzero) < MIN_WILCOXON_PAIRS:
        reason = (
            f"{len(nonzero)} non-zero differences; the Wilcoxon test needs at least "
            f"{MIN_WILCOXON_PAIRS} to be able to reach p < {ALPHA}"
        )
    else:
        p = float(stats.wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided").pvalue)
        if not math.isfinite(p):
            p, reason = None, "the Wilcoxon test is undefined for these differences"
    boot = bootstrap_median(d, confidence, resamples, digits=digits)
    return {
        "n": len(d),
        "differences": differences,
        "median": boot["median"],
        "low": boot["low"],
        "high": boot["high"],
        "mean": _round(math.fsum(d) / len(d), digits) if d else None,
        "test": "wilcoxon",
        "p_value": None if p is None else _p_value(p),
        "significant": _significant(p),
        "reason": reason,
        "questions_needed": questions_needed_paired(d),
    }


def paired(
    rows: Sequence[Row],
    baseline_arm: str,
    other_arm: str,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
) -> dict[str, Any]:
    """``other_arm`` against ``baseline_arm``, question by question (paired by ``index``).

    Differences are other − baseline. Each result has ``p_value`` (None with a ``reason`` when
    the test cannot be run), ``significant`` (p < 0.05; False when p is None) and
    ``questions_needed`` (see ``power.py``). Times pair completed rounds only.
    """
    baseline, other = _by_index(rows, baseline_arm), _by_index(rows, other_arm)
    pairs = [(baseline[i], other[i]) for i in sorted(baseline.keys() & other.keys())]
    return {
        "baseline": baseline_arm,
        "other": other_arm,
        "pairs": len(pairs),
        "correctness": _paired_correctness(pairs, confidence, resamples),
        "metrics": {key: _paired_metric(key, pairs, confidence, resamples) for key in METRICS},
    }


def by_category(
    rows: Sequence[Row], confidence: float = CONFIDENCE, resamples: int = RESAMPLES
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{category: {arm: {rounds, judged, correct, accuracy, wilson, round_ms}}}``.

    ``round_ms`` is the median (with its bootstrap interval) over the completed rounds.
    """
    groups: dict[str, dict[str, list[Row]]] = {}
    for row in rows:
        groups.setdefault(str(row["category"]), {}).setdefault(str(row["arm"]), []).append(row)
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for category in sorted(groups):
        result[category] = {}
        for arm in sorted(groups[category]):
            group = groups[category][arm]
            judged = [r for r in group if r.get("correct") is not None]
            correct = sum(1 for r in judged if r["correct"])
            completed = [r for r in group if r["status"] == "completed"]
            result[category][arm] = {
                "rounds": len(group),
                "judged": len(judged),
                "correct": correct,
                "accuracy": _proportion(correct, len(judged)),
                "wilson": _wilson(correct, len(judged), confidence),
                "round_ms": bootstrap_median(
                    _values(completed, "round_ms"), confidence, resamples, digits=1
                ),
            }
    return result


def compare(rows: Sequence[Row], arms: Sequence[str], baseline: str) -> dict[str, Any]:
    """A comparison's statistics: each arm, each other arm paired with ``baseline``, categories.

    Rows of arms not named in ``arms`` are left out. The result is JSON-serialisable as is.
    """
    if baseline not in arms:
        raise ValueError(f"baseline {baseline!r} is not one of the arms {list(arms)}")
    if len(set(arms)) != len(arms):
        raise ValueError(f"arms must be distinct, got {list(arms)}")
    mine = [r for r in rows if r["arm"] in arms]
    return {
        "arms": {arm: arm_summary([r for r in mine if r["arm"] == arm]) for arm in arms},
        "paired": {arm: paired(mine, baseline, arm) for arm in arms if arm != baseline},
        "categories": by_category(mine),
        "baseline": baseline,
        "alpha": ALPHA,
        "confidence": CONFIDENCE,
    }
