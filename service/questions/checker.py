"""A deterministic answer check that the Judge calls as a tool.

The Judge is a model, and a model can be argued with; this module cannot. It compares what an
answer *means* (a number, a word, a yes/no, a list) with the reference, ignoring form ("768.0",
"seven hundred sixty-eight", "**768**"). The answer is only ever data: nothing in it can ask for
a verdict, and hedging ("767 or 768") or negation ("not 768") makes it wrong.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .tokens import Token, tokenize

MatchKind = Literal["exact", "equivalent", "mismatch", "unanswered"]

MAX_CHARS = 2000
"""Only this prefix of an answer is read, so a huge answer cannot make the check slow."""

_MARKER_RE = re.compile(
    r"\banswers?\s*(?::|=|\bis(?![\w'])|\b(?:would|should|will|must) be\b)", re.IGNORECASE
)
_TAG_RES = (
    re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL),
    re.compile(r"\\boxed\{([^{}]*)\}"),
)

_BOUNDARIES = {".", "!", "?", ";"}
_NEGATIONS = {
    "not",
    "no",
    "never",
    "nope",
    "neither",
    "nor",
    "n't",
    "isn't",
    "isnt",
    "aren't",
    "wasn't",
    "weren't",
    "can't",
    "cannot",
    "couldn't",
    "don't",
    "doesn't",
    "didn't",
    "won't",
    "wouldn't",
}
_NEGATION_PHRASES = (" anything but ", " other than ", " instead of ", " except ")
_REJECTIONS = {"wrong", "incorrect", "false", "isn't", "isnt", "wasn't"}
_OPPOSITES = {"yes": "no", "no": "yes", "true": "false", "false": "true"}


@dataclass(frozen=True)
class AnswerCheck:
    """The verdict, with what was understood and why, so the Judge can quote it."""

    correct: bool
    score: float
    match: MatchKind
    extracted_answer: str
    reason: str


@dataclass(frozen=True)
class _Outcome:
    kind: str  # "correct", "mismatch", "negated", "conflict" or "unanswered"
    candidate: str
    reason: str  # without the final full stop


def _clean(text: str) -> str:
    """Bounded, unescaped (chat templates emit &#39;), markdown-free text."""
    text = html.unescape(text[:MAX_CHARS])
    text = text.replace("\u2019", "'").replace("\u2212", "-").replace("\u2013", "-")
    for mark in ("*", "`", "__"):
        text = text.replace(mark, "")
    return text


def extract_answer(text: str) -> str:
    """The part of a reply that is the answer: after the last "answer is"/"Answer:" (up to the
    end of that line), inside <answer> or \\boxed{}, else the whole reply; trimmed of quotes and
    trailing punctuation. This is also what the dataset's own scorer is given."""
    text = _clean(text)
    for tag_re in _TAG_RES:
        found = tag_re.findall(text)
        if found:
            text = found[-1]
            break
    markers = list(_MARKER_RE.finditer(text))
    if markers:
        tail = text[markers[-1].end() :].lstrip(" \t\r\n:")
        line = tail.split("\n", 1)[0].strip()
        if line:
            text = line
    previous = None
    while previous != text:  # ' "Yes." ' -> 'Yes'
        previous = text
        text = text.strip().strip("\"'").rstrip(".!?,;:")
    return text


def parse_number(text: str) -> float | None:
    """The number ``text`` is ("1,024", "-3/4", "seven hundred and sixty-eight"), or None if
    it is not exactly one number (a list such as "1, 2, 4" is not a number)."""
    items = [t for t in tokenize(_clean(text)) if t.kind != "punct"]
    if len(items) == 1 and items[0].kind == "num":
        return items[0].value
    return None


def _same_value(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    if math.isfinite(value) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return f"{value:.12g}"


def _quote(text: str) -> str:
    """The answer's own words, quoted and cut short, so a reason can't carry a long message."""
    return f'"{text[:37]}..."' if len(text) > 40 else f'"{text}"'


def _window(tokens: list[Token], index: int, step: int, size: int) -> list[str]:
    """Up to ``size`` words/numbers next to ``index`` in one direction, within the sentence."""
    found: list[str] = []
    k = index + step
    while 0 <= k < len(tokens) and len(found) < size:
        if tokens[k].kind == "punct":
            if tokens[k].text in _BOUNDARIES:
                break
        else:
            found.append(tokens[k].text)
        k += step
    return found if step > 0 else found[::-1]


def _negated(tokens: list[Token], start: int, end: int, reference_words: set[str]) -> bool:
    """Whether the candidate at tokens[start:end] is denied ("not 768", "768 is wrong")."""
    negations = (_NEGATIONS - {"no"}) if "no" in reference_words else _NEGATIONS
    before = _window(tokens, start, -1, 4)
    if any(word in negations for word in before):
        return True
    spaced = " " + " ".join(before) + " "
    if any(phrase in spaced for phrase in _NEGATION_PHRASES):
        return True
    after = _window(tokens, end - 1, 1, 3)
    if any(word in _REJECTIONS for word in after):
        return True
    return after[:2] in (["is", "not"], ["was", "not"])


def _compare_number(
    tokens: list[Token], reference: float | None, extracted: str, ref_text: str
) -> _Outcome:
    equals = [k for k, t in enumerate(tokens) if t.text == "="]
    if equals and any(t.kind == "num" for t in tokens[equals[-1] :]):
        tokens = tokens[equals[-1] + 1 :]  # "512 + 256 = 768": the result is after the last "="
    positions = [k for k, t in enumerate(tokens) if t.kind == "num"]
    if not positions:
        return _Outcome("unanswered", "", "The answer contains no number")
    distinct: list[float] = []
    for k in positions:
        value = tokens[k].value
        if value is not None and not any(_same_value(value, seen) for seen in distinct):
            distinct.append(value)
    if len(distinct) > 1:
        shown = ", ".join(_fmt(v) for v in sorted(distinct))
        count = "two" if len(distinct) == 2 else "several"
        return _Outcome(
            "conflict", extracted, f"The answer gives {count} different numbers ({shown})"
        )
    value = tokens[positions[0]].value
    if not _same_value(value, reference):
        return _Outcome(
            "mismatch", _fmt(value), f"{_fmt(value)} does not equal the reference {ref_text}"
        )
    if any(_negated(tokens, k, k + 1, set()) for k in positions):
        return _Outcome("negated", _fmt(value), f"The answer negates {_fmt(value)}")
    return _Outcome("correct", _fmt(value), f"{_fmt(value)} equals the reference {ref_text}")


def _compare_items(
    tokens: list[Token], ref_items: list[Token], extracted: str, ref_text: str
) -> _Outcome:
    """Words, yes/no and lists: the reference must appear as whole items, in order."""
    positions = [k for k, t in enumerate(tokens) if t.kind != "punct"]
    if not positions:
        return _Outcome("unanswered", "", "The answer contains no words or numbers")
    items = [tokens[k] for k in positions]
    n = len(ref_items)

    def same(a: Token, b: Token) -> bool:
        if a.kind == "num" and b.kind == "num":
            return _same_value(a.value, b.value)
        return a.kind == b.kind and a.text == b.text

    starts = [
        s
        for s in range(len(items) - n + 1)
        if all(same(items[s + j], ref_items[j]) for j in range(n))
    ]
    if not starts:
        return _Outcome(
            "mismatch", extracted, f"{_quote(extracted)} does not match the reference {ref_text}"
        )
    has_numbers = any(t.kind == "num" for t in ref_items)
    candidate = (", " if has_numbers else " ").join(
        t.text for t in items[starts[0] : starts[0] + n]
    )
    ref_words = {t.text for t in ref_items}
    covered = {s + j for s in starts for j in range(n)}
    if has_numbers:
        extra = [
            items[k].text for k in range(len(items)) if items[k].kind == "num" and k not in covered
        ]
        if extra:
            return _Outcome(
                "conflict",
                extracted,
                f"The answer gives numbers beyond the reference ({', '.join(extra)})",
            )
    if n == 1 and ref_items[0].text in _OPPOSITES:
        opposite = _OPPOSITES[ref_items[0].text]
        if any(t.text == opposite for t in items):
            return _Outcome(
                "conflict", extracted, f"The answer gives both {ref_items[0].text} and {opposite}"
            )
    for s in starts:
        start, end = positions[s], positions[s + n - 1] + 1
        neighbours = _window(tokens, start, -1, 1) + _window(tokens, end - 1, 1, 1)
        slash = (start > 0 and tokens[start - 1].text == "/") or (
            end < len(tokens) and tokens[end].text == "/"
        )
        if "or" in neighbours or slash:
            return _Outcome(
                "conflict", extracted, f"The answer hedges between {candidate} and another answer"
            )
        if _negated(tokens, start, end, ref_words):
            return _Outcome("negated", candidate, f"The answer negates {candidate}")
    return _Outcome("correct", candidate, f"{candidate} matches the reference {ref_text}")


def _compare(extracted: str, reference: str) -> _Outcome:
    ref_text = reference.strip()
    ref_items = [t for t in tokenize(_clean(reference)) if t.kind != "punct"]
    tokens = tokenize(extracted)
    if not ref_items:
        return _Outcome("mismatch", extracted, "There is no reference answer to compare with")
    if len(ref_items) == 1 and ref_items[0].kind == "num":
        return _compare_number(tokens, ref_items[0].value, extracted, ref_text)
    return _compare_items(tokens, ref_items, extracted, ref_text)


def _safe_score(
    dataset_score: Callable[[str], float] | None, extracted: str
) -> tuple[float | None, str]:
    """The dataset scorer's value in 0..1, or None; a failing scorer is reported, never raised."""
    if dataset_score is None:
        return None, ""
    # The scorer is third-party code: its failure must not lose the verdict.
    try:
        value = float(dataset_score(extracted))
    except Exception as exc:
        return (
            None,
            f" (the dataset scorer failed with {type(exc).__name__}, "
            "so only our comparison counts)",
        )
    if math.isnan(value):
        return None, " (the dataset scorer returned no usable value)"
    return min(1.0, max(0.0, value)), ""


def check_answer(
    answer: str, reference: str, *, dataset_score: Callable[[str], float] | None = None
) -> AnswerCheck:
    """Whether ``answer`` means the ``reference``.

    Our comparison accepts any form of the right value; ``dataset_score`` (reasoning-gym's
    ``score_answer`` bound to the entry) may also accept it, which covers puzzles with several
    valid answers. A negated or hedged answer is wrong whatever the scorer says.
    """
    extracted = extract_answer(answer)
    if not extracted:
        return AnswerCheck(False, 0.0, "unanswered", "", "The answer is empty.")
    outcome = _compare(extracted, reference)
    if outcome.kind in ("negated", "conflict"):
        return AnswerCheck(False, 0.0, "mismatch", outcome.candidate, outcome.reason + ".")
    scored, note = _safe_score(dataset_score, extracted)
    is_exact = extracted.casefold() == reference.strip().casefold()
    kind: MatchKind = "exact" if is_exact else "equivalent"
    if outcome.kind == "correct":
        return AnswerCheck(True, 1.0, kind, outcome.candidate, outcome.reason + note + ".")
    if scored is not None and scored >= 1.0:
        reason = (
            f"The dataset's scorer accepts {_quote(extracted)} "
            f"for the reference {reference.strip()}."
        )
        return AnswerCheck(True, 1.0, kind, extracted, reason)
    if outcome.kind == "unanswered":
        return AnswerCheck(False, 0.0, "unanswered", outcome.candidate, outcome.reason + note + ".")
    return AnswerCheck(
        False, scored or 0.0, "mismatch", outcome.candidate, outcome.reason + note + "."
    )
