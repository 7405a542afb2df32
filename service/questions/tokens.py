"""An answer read as tokens: numbers (digits, fractions, English number words, signs), words
and punctuation.

The answer check compares meanings, so "seven hundred and sixty-eight", "768" and "1,536/2"
must all become one number token before anything is compared; this is that reading, kept apart
from the comparison rules in checker.py.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_TOKEN_RE = re.compile(
    r"(?P<num>(?:(?<![\w)])[-+])?"  # a sign, not right after a word character or ")"
    r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"  # 1,234,567 or 1234, then decimals
    r"(?:[ \t]*/[ \t]*\d+(?:\.\d+)?)?)"  # a fraction's denominator
    r"|(?P<word>[^\W\d_]+(?:['-][^\W\d_]+)*)"
    r"|(?P<punct>\S)"
)

_UNITS = {
    w: i
    for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
}
_TEENS = {
    w: i + 10
    for i, w in enumerate(
        [
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_TENS = {
    w: (i + 2) * 10
    for i, w in enumerate(
        ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    )
}
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9}
_NUMBER_WORDS = set(_UNITS) | set(_TEENS) | set(_TENS) | set(_SCALES) | {"hundred"}
_SIGN_WORDS = {"minus", "negative"}


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "word" or "punct"
    text: str
    value: float | None = None


def _number_value(text: str) -> float:
    compact = text.replace(",", "").replace(" ", "").replace("\t", "")
    if "/" in compact:
        numerator, denominator = compact.split("/")
        if float(denominator) == 0:
            return math.inf
        return float(numerator) / float(denominator)
    return float(compact)


def _read_number_words(words: list[Token], start: int) -> tuple[float, int]:
    """Reads English number words from ``start``; returns (value, end), end == start if none."""
    total, current, last = 0.0, 0.0, None
    i, end = start, start
    while i < len(words) and words[i].kind == "word":
        word = words[i].text
        following = words[i + 1].text if i + 1 < len(words) else ""
        if word in _UNITS and last in (None, "ten", "hundred", "scale"):
            current, last = current + _UNITS[word], "unit"
        elif word in _TEENS and last in (None, "hundred", "scale"):
            current, last = current + _TEENS[word], "teen"
        elif word in _TENS and last in (None, "hundred", "scale"):
            current, last = current + _TENS[word], "ten"
        elif word == "hundred" and last in ("unit", "teen", "ten") and current < 100:
            current, last = current * 100, "hundred"
        elif word in _SCALES and last in ("unit", "teen", "ten", "hundred"):
            total, current, last = total + current * _SCALES[word], 0.0, "scale"
        elif word == "and" and last in ("hundred", "scale") and following in _NUMBER_WORDS:
            i += 1
            continue
        elif word == "point" and last is not None and following in _UNITS:
            digits = ""
            i += 1
            while i < len(words) and words[i].text in _UNITS:
                digits += str(_UNITS[words[i].text])
                i += 1
            return total + current + float("0." + digits), i
        else:
            break
        i += 1
        end = i
    return total + current, end


def tokenize(text: str) -> list[Token]:
    """Numbers (digits, fractions, number words, signs), words and punctuation, lower-cased."""
    raw: list[Token] = []
    for m in _TOKEN_RE.finditer(text.lower()):
        if m.lastgroup == "num":
            raw.append(Token("num", m.group(), _number_value(m.group())))
        elif m.lastgroup == "word" and all(p in _NUMBER_WORDS for p in m.group().split("-")):
            raw.extend(Token("word", part) for part in m.group().split("-"))  # "sixty-eight"
        else:
            raw.append(Token(m.lastgroup or "punct", m.group()))
    tokens: list[Token] = []
    i = 0
    while i < len(raw):
        value, end = _read_number_words(raw, i)
        if end > i:
            tok = Token("num", " ".join(t.text for t in raw[i:end]), value)
            i = end
        else:
            tok = raw[i]
            i += 1
        if tok.kind == "num" and tokens and tokens[-1].text in _SIGN_WORDS:
            sign = tokens.pop()
            tok = Token("num", f"{sign.text} {tok.text}", -(tok.value or 0.0))
        tokens.append(tok)
    return tokens
