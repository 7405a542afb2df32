"""A comparison as one self-contained HTML file: the compare page's report (its scripts, styles
and the result itself inlined), readable with no server, from the page, the API and
``quizrelay compare --report F``."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
SCRIPTS = ("common.js", "charts.js", "report.js")
STYLES = ("app.css", "game.css")


def _inline_json(value: Any) -> str:
    """JSON safe inside a <script> element (no "</script>", no HTML comment openers)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_report(result: dict[str, Any]) -> str:
    styles = "\n".join((STATIC / name).read_text(encoding="utf-8") for name in STYLES)
    scripts = "\n".join(
        f"<script>\n{(STATIC / name).read_text(encoding='utf-8')}\n</script>" for name in SCRIPTS
    )
    title = f"quizrelay comparison {result.get('id', '')}"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
{styles}
</style>
</head>
<body data-offline="1">
<main id="main">
<div class="page-head"><h1>{escape(title)}</h1>
<span class="muted">A saved report: the numbers are the ones the service computed.</span></div>
<section id="report" aria-label="Results">
  <h2 class="section-title">Summary</h2><div id="summary" class="table-wrap"></div>
  <h2 class="section-title">Latency per round</h2><div id="chart-latency" class="charts"></div>
  <h2 class="section-title">Per role, mean per round</h2><div id="chart-roles" class="charts"></div>
  <h2 class="section-title">Questions</h2><div id="questions" class="table-wrap"></div>
</section>
</main>
<script type="application/json" id="comparison-result">{_inline_json(result)}</script>
{scripts}
<script>
window.QR.report.render(JSON.parse(document.getElementById("comparison-result").textContent));
</script>
</body>
</html>
"""
