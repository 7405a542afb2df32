"""A comparison as one self-contained HTML file: the compare page's report (its scripts, styles,
the result and the per-role roll-ups of its rounds' traces inlined), readable with no server,
from the page, the API and ``quizrelay compare --report F``.

The file makes no request at all: no external URL, no fetch (the report script draws the
embedded numbers and, without them, says they are missing), and a Content-Security-Policy that
would refuse any connection, image or frame anyway.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from ..agent_specs import PricesSpec
from ..storage.traces import TraceStore
from ..tracing.views import build_view

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
SCRIPTS = ("common.js", "charts.js", "stats_view.js", "report.js")
STYLES = ("app.css", "game.css")
ROLE_METRICS = ("model_calls", "input_tokens", "output_tokens", "duration_ms")
"""The per-role numbers the report's bars show (the keys of a trace's ``rollups.by_role``)."""

CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def _inline_json(value: Any) -> str:
    """JSON safe inside a <script> element (no "</script>", no HTML comment openers)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


async def role_means(
    result: dict[str, Any], traces: TraceStore, prices: PricesSpec
) -> dict[str, Any]:
    """Per arm, the mean per round of each role's roll-up over the arm's stored traces — what
    the compare page computes from ``GET /api/traces/{id}``: ``{"arms": {arm: {"traces": n,
    "missing": m, "by_role": {role: {metric: mean}}}}}`` (a trace removed by retention is
    ``missing``; a role absent from a trace counts as 0)."""
    wanted: dict[str, list[str]] = {}
    for question in result.get("questions", []):
        for arm, played in question.get("rounds", {}).items():
            if played.get("trace_id"):
                wanted.setdefault(arm, []).append(played["trace_id"])
    arms: dict[str, Any] = {}
    for arm, ids in wanted.items():
        spans = await traces.spans_of(ids)  # one arm at a time: at most 100 traces
        sums: dict[str, dict[str, float]] = {}
        found = 0
        for trace_id in ids:
            row = await traces.get_trace(trace_id)
            if row is None:
                continue
            found += 1
            view = build_view(row, spans.get(trace_id, []), prices)
            for role, rollup in view.by_role.items():
                totals = rollup.as_dict()
                acc = sums.setdefault(role, {})
                for key in ROLE_METRICS:
                    acc[key] = acc.get(key, 0.0) + float(totals.get(key) or 0)
        arms[arm] = {
            "traces": found,
            "missing": len(ids) - found,
            "by_role": {
                role: {key: value / found for key, value in acc.items()}
                for role, acc in sums.items()
            },
        }
    return {"arms": arms}


def render_report(result: dict[str, Any], roles: dict[str, Any] | None = None) -> str:
    """The report as one HTML document; ``roles`` from :func:`role_means` (None: the file says
    the per-role numbers are missing)."""
    styles = "\n".join((STATIC / name).read_text(encoding="utf-8") for name in STYLES)
    scripts = "\n".join(
        f"<script>\n{(STATIC / name).read_text(encoding='utf-8')}\n</script>" for name in SCRIPTS
    )
    title = f"quizrelay comparison {result.get('id', '')}"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{escape(title)}</title>
<style>
{styles}
</style>
</head>
<body data-offline="1">
<main id="main">
<div class="page-head"><h1>{escape(title)}</h1>
<span class="muted">A saved report: the numbers are the ones the service computed.</span></div>
<div id="status" class="notice" role="status" hidden></div>
<section id="report" aria-label="Results"></section>
</main>
<script type="application/json" id="comparison-result">{_inline_json(result)}</script>
<script type="application/json" id="comparison-roles">{_inline_json(roles)}</script>
{scripts}
<script>
window.QR.report.render(JSON.parse(document.getElementById("comparison-result").textContent),
  {{ roles: JSON.parse(document.getElementById("comparison-roles").textContent) }});
</script>
</body>
</html>
"""
