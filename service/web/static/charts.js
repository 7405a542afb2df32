/* Small inline-SVG charts for the compare page, built as strings (every label through QR.esc):
   a strip plot (one dot per round, a median mark per series) and grouped bars. Charts are
   drawn at their container's pixel width, so text stays legible on a phone; redraw on resize. */
"use strict";
(function () {
  const QR = window.QR;
  const esc = QR.esc;
  const C = {};

  /** ~5 round tick values from 0 to at least `max` (steps of 1, 2 or 5 × 10^n). */
  C.ticks = (max) => {
    if (!(max > 0)) return [0, 1];
    const raw = max / 5;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const ticks = [];
    for (let t = 0; t < max + step * 0.999; t += step) ticks.push(Number(t.toPrecision(12)));
    return ticks;
  };

  const n = (v) => (Math.round(v * 10) / 10).toString();
  const svgOpen = (w, h, label, cls) => '<svg class="chart ' + cls + '" viewBox="0 0 ' + w + " " + h + '" width="' + w + '" height="' + h +
    '" role="img" aria-label="' + esc(label) + '" xmlns="http://www.w3.org/2000/svg">';

  /** Strip plot. opts: {title, width, fmt, series: [{name, values: [{value, label}], median, p95}]}. */
  C.strip = (opts) => {
    const width = Math.max(280, Math.min(opts.width || 560, 1000));
    const left = 64;
    const right = 30;
    const rowH = 44;
    const top = 12;
    const height = top + opts.series.length * rowH + 30;
    const all = opts.series.flatMap((s) => s.values.map((v) => v.value)).filter((v) => v !== null && v !== undefined);
    const ticks = C.ticks(Math.max(...all, 0));
    const max = ticks[ticks.length - 1] || 1;
    const x = (v) => left + ((width - left - right) * v) / max;
    const summary = opts.series.map((s) => s.name + " median " + opts.fmt(s.median)).join(", ");
    let svg = svgOpen(width, height, opts.title + ": " + summary, "strip");
    for (const t of ticks) {
      svg += '<line class="grid-line" x1="' + n(x(t)) + '" x2="' + n(x(t)) + '" y1="' + top + '" y2="' + (height - 26) + '"/>' +
        '<text class="tick" x="' + n(x(t)) + '" y="' + (height - 10) + '" text-anchor="middle">' + esc(t === 0 ? "0" : opts.fmt(t)) + "</text>";
    }
    opts.series.forEach((s, row) => {
      const mid = top + row * rowH + rowH / 2;
      svg += '<g class="series s-' + esc(s.name) + '" data-series="' + esc(s.name) + '"><text class="row-label" x="' + (left - 8) + '" y="' + (mid + 4) +
        '" text-anchor="end">' + esc(s.name) + "</text>";
      s.values.forEach((v, i) => {
        if (v.value === null || v.value === undefined) return;
        const jitter = ((i * 7919) % 17) - 8; // deterministic spread, so equal values stay visible
        svg += '<circle class="dot" cx="' + n(x(v.value)) + '" cy="' + n(mid + jitter) + '" r="5" data-value="' + esc(v.value) + '"><title>' +
          esc((v.label ? v.label + ": " : "") + opts.fmt(v.value)) + "</title></circle>";
      });
      if (s.median !== null && s.median !== undefined) {
        svg += '<line class="median" x1="' + n(x(s.median)) + '" x2="' + n(x(s.median)) + '" y1="' + (mid - 16) + '" y2="' + (mid + 16) +
          '" data-value="' + esc(s.median) + '"><title>median ' + esc(opts.fmt(s.median)) + "</title></line>";
      }
      if (s.p95 !== null && s.p95 !== undefined) {
        svg += '<line class="p95" x1="' + n(x(s.p95)) + '" x2="' + n(x(s.p95)) + '" y1="' + (mid - 12) + '" y2="' + (mid + 12) +
          '" data-value="' + esc(s.p95) + '"><title>p95 ' + esc(opts.fmt(s.p95)) + "</title></line>";
      }
      svg += "</g>";
    });
    return svg + "</svg>";
  };

  /** Grouped bars. opts: {title, width, fmt, tickFmt?, groups: [names], series: [names], value(group, series) → number|null}. */
  C.bars = (opts) => {
    const width = Math.max(240, Math.min(opts.width || 360, 520));
    const left = 46;
    const top = 18;
    const bottom = 26;
    const height = 190;
    const plotH = height - top - bottom;
    const values = opts.groups.flatMap((g) => opts.series.map((s) => opts.value(g, s) || 0));
    const ticks = C.ticks(Math.max(...values, 0));
    const max = ticks[ticks.length - 1] || 1;
    const y = (v) => top + plotH - (plotH * v) / max;
    const groupW = (width - left - 8) / opts.groups.length;
    const barW = Math.min(30, (groupW - 14) / opts.series.length);
    let svg = svgOpen(width, height, opts.title, "bars");
    for (const t of ticks) {
      svg += '<line class="grid-line" x1="' + left + '" x2="' + (width - 8) + '" y1="' + n(y(t)) + '" y2="' + n(y(t)) + '"/>' +
        '<text class="tick" x="' + (left - 6) + '" y="' + n(y(t) + 4) + '" text-anchor="end">' + esc((opts.tickFmt || opts.fmt)(t)) + "</text>";
    }
    opts.groups.forEach((group, gi) => {
      const x0 = left + gi * groupW + (groupW - barW * opts.series.length) / 2;
      opts.series.forEach((series, si) => {
        const value = opts.value(group, series);
        if (value === null || value === undefined) return;
        const x = x0 + si * barW;
        svg += '<g class="s-' + esc(series) + '"><rect class="bar-rect" x="' + n(x + 1) + '" y="' + n(y(value)) + '" width="' + n(barW - 2) +
          '" height="' + n(top + plotH - y(value)) + '" data-group="' + esc(group) + '" data-series="' + esc(series) + '" data-value="' +
          esc(n(value)) + '"><title>' + esc(group + " · " + series + ": " + opts.fmt(value)) + "</title></rect>" +
          (opts.fmt(value).length * 6 <= barW - 2 ? '<text class="bar-label" x="' + n(x + barW / 2) + '" y="' + n(y(value) - 4) +
            '" text-anchor="middle">' + esc(opts.fmt(value)) + "</text>" : "") + "</g>";
      });
      svg += '<text class="group-label" x="' + n(left + gi * groupW + groupW / 2) + '" y="' + (height - 8) + '" text-anchor="middle">' + esc(group) + "</text>";
    });
    return svg + "</svg>";
  };

  /** A legend for series names (coloured by the s-<name> classes). */
  C.legend = (series) => '<div class="chart-legend">' + series.map((s) => '<span class="legend-item"><i class="swatch s-' + esc(s) + '"></i>' +
    esc(s) + "</span>").join("") + "</div>";

  QR.charts = C;
})();
