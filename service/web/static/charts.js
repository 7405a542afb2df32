/* Small inline-SVG charts for the compare page, built as strings (every label through QR.esc):
   a strip plot (one dot per round, a median mark per series), grouped bars and error bars (a
   point with its interval per series). Charts are drawn at their container's pixel width, so
   text stays legible on a phone; redraw on resize. A series is coloured by its class
   (`cls`, default "s-<name>"; the compare page gives arms "arm-c arm-<i>"). */
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

  /** A row label that fits `room` pixels (about 7 px a bold character), cut with "…". */
  const fit = (text, room) => {
    const max = Math.max(3, Math.floor(room / 7));
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  };
  /** Room for row labels: the longest name, within 64 px .. 40 % of the width. */
  const labelRoom = (names, width) => Math.round(Math.min(Math.max(64, 12 + 7 * Math.max(0, ...names.map((s) => s.length))), width * 0.4));

  /** Strip plot. opts: {title, width, fmt, series: [{name, cls?, values: [{value, label}], median, p95}]}. */
  C.strip = (opts) => {
    const width = Math.max(280, Math.min(opts.width || 560, 1000));
    const left = labelRoom(opts.series.map((s) => s.name), width);
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
      svg += '<g class="series ' + esc(s.cls || "s-" + s.name) + '" data-series="' + esc(s.name) + '"><text class="row-label" x="' + (left - 8) + '" y="' + (mid + 4) +
        '" text-anchor="end">' + esc(fit(s.name, left - 10)) + "<title>" + esc(s.name) + "</title></text>";
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

  /** Grouped bars. opts: {title, width, fmt, tickFmt?, groups: [names], series: [names], value(group, series) → number|null,
      cls?(series) → class}. */
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
        svg += '<g class="' + esc(opts.cls ? opts.cls(series) : "s-" + series) + '"><rect class="bar-rect" x="' + n(x + 1) + '" y="' + n(y(value)) + '" width="' + n(barW - 2) +
          '" height="' + n(top + plotH - y(value)) + '" data-group="' + esc(group) + '" data-series="' + esc(series) + '" data-value="' +
          esc(n(value)) + '"><title>' + esc(group + " · " + series + ": " + opts.fmt(value)) + "</title></rect>" +
          (opts.fmt(value).length * 6 <= barW - 2 ? '<text class="bar-label" x="' + n(x + barW / 2) + '" y="' + n(y(value) - 4) +
            '" text-anchor="middle">' + esc(opts.fmt(value)) + "</text>" : "") + "</g>";
      });
      svg += '<text class="group-label" x="' + n(left + gi * groupW + groupW / 2) + '" y="' + (height - 8) + '" text-anchor="middle">' + esc(group) + "</text>";
    });
    return svg + "</svg>";
  };

  /** Error bars: per row a point (the estimate) and a line from low to high with caps.
      opts: {title, width, fmt, tickFmt?, max? (fixed end of the axis), rows: [{name, cls?, value, low, high, note?}]}.
      A row without a value says "no data". Each row's <g> carries data-series/-value/-low/-high. */
  C.errorBars = (opts) => {
    const width = Math.max(260, Math.min(opts.width || 560, 1000));
    const left = labelRoom(opts.rows.map((r) => r.name), width);
    const right = 24;
    const rowH = 28;
    const top = 8;
    const height = top + opts.rows.length * rowH + 28;
    const known = (v) => v !== null && v !== undefined;
    const all = opts.rows.flatMap((r) => [r.value, r.low, r.high]).filter(known);
    const ticks = opts.max ? C.ticks(opts.max) : C.ticks(Math.max(...all, 0));
    const max = opts.max || ticks[ticks.length - 1] || 1;
    const x = (v) => left + ((width - left - right) * Math.min(Math.max(v, 0), max)) / max;
    const label = opts.rows.map((r) => r.name + " " + (known(r.value) ? opts.fmt(r.value) + " (" + opts.fmt(r.low) + " to " + opts.fmt(r.high) + ")" : "no data"));
    let svg = svgOpen(width, height, opts.title + ": " + label.join(", "), "errbars");
    const shown = ticks.filter((t) => t <= max);
    const tickFmt = opts.tickFmt || opts.fmt;
    const wide = Math.max(...shown.map((t) => tickFmt(t).length)) * 6.5 + 10; // px a tick label needs
    const every = Math.max(1, Math.ceil(wide / Math.max(1, x(shown[1] === undefined ? max : shown[1]) - x(0))));
    shown.forEach((t, i) => {
      svg += '<line class="grid-line" x1="' + n(x(t)) + '" x2="' + n(x(t)) + '" y1="' + top + '" y2="' + (height - 24) + '"/>' +
        (i % every ? "" : '<text class="tick" x="' + n(x(t)) + '" y="' + (height - 8) + '" text-anchor="middle">' + esc(t === 0 ? "0" : tickFmt(t)) + "</text>");
    });
    opts.rows.forEach((r, row) => {
      const mid = top + row * rowH + rowH / 2;
      svg += '<g class="eb-row ' + esc(r.cls || "s-" + r.name) + '" data-series="' + esc(r.name) + '" data-value="' + esc(r.value) + '" data-low="' +
        esc(r.low) + '" data-high="' + esc(r.high) + '"><text class="row-label" x="' + (left - 8) + '" y="' + (mid + 4) + '" text-anchor="end">' +
        esc(fit(r.name, left - 10)) + "<title>" + esc(r.name) + "</title></text>";
      if (!known(r.value)) {
        svg += '<text class="tick" x="' + (left + 4) + '" y="' + (mid + 4) + '">no data</text></g>';
        return;
      }
      const lo = known(r.low) ? r.low : r.value;
      const hi = known(r.high) ? r.high : r.value;
      svg += '<line class="eb-line" x1="' + n(x(lo)) + '" x2="' + n(x(hi)) + '" y1="' + mid + '" y2="' + mid + '"/>' +
        '<line class="eb-cap" x1="' + n(x(lo)) + '" x2="' + n(x(lo)) + '" y1="' + (mid - 6) + '" y2="' + (mid + 6) + '"/>' +
        '<line class="eb-cap" x1="' + n(x(hi)) + '" x2="' + n(x(hi)) + '" y1="' + (mid - 6) + '" y2="' + (mid + 6) + '"/>' +
        '<circle class="eb-point" cx="' + n(x(r.value)) + '" cy="' + mid + '" r="4.5"><title>' + esc(r.name + ": " + opts.fmt(r.value) + ", 95% interval " +
        opts.fmt(lo) + " to " + opts.fmt(hi) + (r.note ? " (" + r.note + ")" : "")) + "</title></circle></g>";
    });
    return svg + "</svg>";
  };

  /** A legend for series names (coloured by `clsOf(name)`, default the s-<name> classes). */
  C.legend = (series, clsOf) => '<div class="chart-legend">' + series.map((s) => '<span class="legend-item"><i class="swatch ' +
    esc(clsOf ? clsOf(s) : "s-" + s) + '"></i>' + esc(s) + "</span>").join("") + "</div>";

  QR.charts = C;
})();
