"""Measure the text of an exported SVG in Chromium and say which labels collide, are cut off or are missing.

Every ``<text>`` element with visible content is measured as the box of its glyphs (``getBBox``, in its own
coordinates) mapped through its transform to the canvas (``getCTM``), so a label rotated by -40 degrees is
a rotated rectangle, not the much larger axis-aligned box around it; two labels collide when these rectangles
overlap by more than :data:`TOLERANCE_PX` (separating-axis test). Line boxes include the font's ascent and
descent, more than the ink, so each box loses :data:`LEADING` of its height at top and bottom first.

Exclusions, and why:

* empty or invisible text (zero-size box): nothing is drawn;
* the hover layer and the modebar: not part of an exported SVG;
* a legend entry's text against its own symbol: symbols are paths, not text, so they are never compared;
* labels inside the plot area drawn by the data (scatter ``textpoint``) against the data marks: only text
  is compared with text;
* an x-axis tick label against a y-axis tick label of the same subplot: where both axes start at a tick (0 and
  0), the two labels meet diagonally at the corner of the plot, a convention of every Plotly chart and never misread.
"""

from __future__ import annotations

import math
import re
from typing import Any

TOLERANCE_PX = 0.75
LEADING = 0.12
MAX_ROWS = 60

MEASURE_JS = """
(svgText) => {
  document.body.style.margin = '0';
  document.body.innerHTML = svgText;
  const svg = document.body.querySelector('svg');
  const out = [];
  for (const t of svg.querySelectorAll('text')) {
    const lines = t.querySelectorAll('tspan.line');  // a label broken over lines reads with spaces between
    const raw = lines.length ? [...lines].map(l => l.textContent).join(' ') : t.textContent;
    const text = raw.replace(/\\s+/g, ' ').trim();
    if (!text) continue;
    const b = t.getBBox();
    if (b.width === 0 || b.height === 0) continue;
    const m = t.getCTM();
    const pad = b.height * %(leading)s;
    const corners = [[b.x, b.y + pad], [b.x + b.width, b.y + pad], [b.x + b.width, b.y + b.height - pad],
                     [b.x, b.y + b.height - pad]].map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
    let tick = t.parentElement;  // a tick label's group: xtick, ytick, x2tick, y2tick, ...
    while (tick && !(tick.getAttribute('class') || '').split(' ').some(c => /^[xy]\\d*tick$/.test(c))) {
      tick = tick.parentElement;
    }
    const subplot = t.closest('g.subplot');
    out.push({text, corners, cls: t.getAttribute('class') || '',
              tick: tick ? tick.getAttribute('class').split(' ').find(c => /^[xy]\\d*tick$/.test(c)) : null,
              subplot: subplot ? [...subplot.classList].find(c => c !== 'subplot') : null});
  }
  return {width: +svg.getAttribute('width'), height: +svg.getAttribute('height'), texts: out};
}
""" % {"leading": LEADING}


def measure(page, svg: bytes | str) -> dict[str, Any]:
    """Canvas size and every visible text's corners, from one SVG loaded into a Playwright page."""
    return page.evaluate(MEASURE_JS, svg.decode() if isinstance(svg, bytes) else svg)


def _overlap_depth(a: list[list[float]], b: list[list[float]]) -> float:
    """How far two convex quadrilaterals overlap (0 when a separating axis exists)."""
    depth = math.inf
    for poly in (a, b):
        for i in range(4):
            (x0, y0), (x1, y1) = poly[i], poly[(i + 1) % 4]
            nx, ny = y0 - y1, x1 - x0
            norm = math.hypot(nx, ny)
            if norm == 0:
                continue
            nx, ny = nx / norm, ny / norm
            pa = [x * nx + y * ny for x, y in a]
            pb = [x * nx + y * ny for x, y in b]
            depth = min(depth, min(max(pa), max(pb)) - max(min(pa), min(pb)))
            if depth <= 0:
                return 0.0
    return depth


def _corner_pair(a: dict, b: dict) -> bool:
    """An x tick label and a y tick label of the same subplot (the exclusion in the module docstring)."""
    return (a["subplot"] == b["subplot"] and bool(a["tick"]) and bool(b["tick"])
            and {a["tick"][0], b["tick"][0]} == {"x", "y"})


def collisions(texts: list[dict]) -> list[str]:
    """Pairs of labels whose boxes overlap by more than the tolerance."""
    boxes = [(t, min(x for x, _ in t["corners"]), max(x for x, _ in t["corners"]),
              min(y for _, y in t["corners"]), max(y for _, y in t["corners"])) for t in texts]
    found = []
    for i, (a, ax0, ax1, ay0, ay1) in enumerate(boxes):
        for b, bx0, bx1, by0, by1 in boxes[i + 1:]:
            if _corner_pair(a, b):
                continue
            if bx0 >= ax1 or ax0 >= bx1 or by0 >= ay1 or ay0 >= by1:
                continue  # the axis-aligned boxes are apart: so are the rectangles inside them
            if _overlap_depth(a["corners"], b["corners"]) > TOLERANCE_PX:
                found.append(f"{a['text'][:40]!r} overlaps {b['text'][:40]!r}")
    return found


def cut_off(texts: list[dict], width: float, height: float) -> list[str]:
    """Labels reaching past the canvas edge."""
    slack = TOLERANCE_PX
    return [f"{t['text'][:40]!r} is cut off by the canvas" for t in texts
            if any(x < -slack or x > width + slack or y < -slack or y > height + slack for x, y in t["corners"])]


def _plain(label: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", str(label))).strip()


def missing_rows(fig: dict, texts: list[dict]) -> list[str]:
    """Heatmap rows (up to :data:`MAX_ROWS`) without their label on the y axis, and truncated row labels."""
    layout = fig.get("layout") or {}
    problems = []
    for trace in fig.get("data") or []:
        rows = trace.get("y")
        if trace.get("type") != "heatmap" or rows is None or not 0 < len(rows) <= MAX_ROWS:
            continue
        xaxis, yaxis = trace.get("xaxis", "x"), trace.get("yaxis", "y")
        if (layout.get("yaxis" + yaxis[1:]) or {}).get("ticktext") is not None:
            continue  # labelled through tickvals/ticktext: checked by the figure's own test
        axis_id = yaxis[1:]  # plotly.js names a subplot's tick groups ytick, y2tick, y3tick, ...
        drawn = {t["text"] for t in texts
                 if t["tick"] == f"y{axis_id}tick" and t["subplot"] in (None, xaxis + yaxis)}
        missing = [str(r) for r in rows if _plain(r) not in drawn]
        if missing:
            problems.append(f"{len(missing)} of {len(rows)} heatmap rows have no label (e.g. {missing[:3]})")
        problems += [f"row label {label!r} is truncated" for label in sorted(drawn) if label.endswith("…")]
    return problems


def layout_problems(fig: dict, measured: dict[str, Any]) -> list[str]:
    """Everything wrong with one rendered figure's text."""
    texts = measured["texts"]
    return (collisions(texts) + cut_off(texts, measured["width"], measured["height"])
            + missing_rows(fig, texts))
