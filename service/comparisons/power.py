"""How many paired questions a comparison would need: rough sample sizes, not promises.

Both formulas are normal approximations for a two-sided test at level ``alpha`` with power
``power`` (1 − β), applied to the effect *as observed*. The observed effect is itself uncertain,
so the answer is an order of magnitude to plan the next comparison with ("about 40 questions"),
not a guarantee that 40 will do. Pure: standard library and SciPy only.

Numbers (times, tokens, calls, cost), on the per-question differences ``d`` (other − baseline):

    n = ((z_{1−α/2} + z_{1−β}) · sd(d) / mean(d))²

the paired t-test's large-sample formula (sd with ddof=1). The service tests these with the
Wilcoxon signed-rank test, whose efficiency relative to the t-test is 3/π ≈ 0.955 for normal
differences and never below 0.864, so the t-test figure is a fair rough guide for it too.

Correctness, from the proportions of discordant pairs (Connor 1987, the usual McNemar
approximation): with p₁₀ = baseline right and other wrong, p₀₁ = the reverse,
ψ = p₁₀ + p₀₁ and δ = p₀₁ − p₁₀,

    n = (z_{1−α/2} · √ψ + z_{1−β} · √(ψ − δ²))² / δ²

Both are rounded up and raised to the fewest questions with which the test the service actually
runs could reach ``alpha`` at all (below that no effect, however large, can be significant):
``MIN_WILCOXON_PAIRS`` non-zero differences for Wilcoxon, and enough questions to expect
``MIN_DISCORDANT_PAIRS`` discordant ones for McNemar's exact test. None when the formula is
undefined: no observed difference (mean(d) = 0 or δ = 0), or fewer than two differences.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy.stats import norm  # type: ignore[import-untyped]

ALPHA = 0.05
POWER = 0.80

# Two-sided exact tests cannot go below these p-values with fewer observations:
# Wilcoxon with 5 non-zero differences: 2/2⁵ = 0.0625; McNemar with 5 discordant pairs, the same.
MIN_WILCOXON_PAIRS = 6
MIN_DISCORDANT_PAIRS = 6


def _z_sum(alpha: float, power: float) -> float:
    return float(norm.ppf(1 - alpha / 2) + norm.ppf(power))


def questions_needed_paired(
    differences: Sequence[float], *, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Paired questions needed to detect ``mean(differences)`` (normal approximation, above)."""
    n = len(differences)
    if n < 2:
        return None
    mean = math.fsum(differences) / n
    if mean == 0 or not math.isfinite(mean):
        return None
    sd = math.sqrt(math.fsum((d - mean) ** 2 for d in differences) / (n - 1))
    needed = (_z_sum(alpha, power) * sd / mean) ** 2
    return max(math.ceil(needed), MIN_WILCOXON_PAIRS)


def questions_needed_mcnemar(
    baseline_only: int,
    other_only: int,
    pairs: int,
    *,
    alpha: float = ALPHA,
    power: float = POWER,
) -> int | None:
    """Paired questions needed for McNemar's test, from the observed discordant counts.

    ``baseline_only``: pairs where only the baseline was right; ``other_only``: only the other
    arm; ``pairs``: all judged pairs. Connor's approximation (module docstring).
    """
    if pairs <= 0:
        return None
    p10 = baseline_only / pairs
    p01 = other_only / pairs
    psi = p10 + p01
    delta = p01 - p10
    if delta == 0:
        return None
    z_alpha = float(norm.ppf(1 - alpha / 2))
    z_beta = float(norm.ppf(power))
    needed = (z_alpha * math.sqrt(psi) + z_beta * math.sqrt(max(psi - delta**2, 0.0))) ** 2
    needed /= delta**2
    return max(math.ceil(needed), math.ceil(MIN_DISCORDANT_PAIRS / psi))
