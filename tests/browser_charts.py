"""What a Plotly chart in the browser draws: every shape it claims (spans, threshold lines) lies within the visible
axis range, and is painted: pixels of its colour inside the plot area. Imported by the browser tests."""

import io

import numpy as np
from PIL import Image
from playwright.sync_api import Page

# For each chart: its shapes as Plotly laid them out (full layout), each with whether its coordinates fall within
# the axis range shown, and the on-screen boxes of its drawn paths (clipped to the plot area).
SHAPES_JS = """(plot) => {
    const full = plot._fullLayout, size = full._size, frame = plot.getBoundingClientRect();
    const area = {left: frame.left + size.l, top: frame.top + size.t, right: frame.left + size.l + size.w,
                  bottom: frame.top + size.t + size.h};
    const axis = (ref, letter) => full[letter + 'axis' + ref.split(' ')[0].slice(1)];
    const within = (ref, letter, a, b) => {
        if (ref === 'paper' || ref.endsWith(' domain')) return 0 <= Math.min(a, b) && Math.max(a, b) <= 1;
        const ax = axis(ref, letter), range = ax.range.map(ax.r2l);
        const low = Math.min(...range), high = Math.max(...range), slack = (high - low) * 1e-9;
        return [a, b].every(v => low - slack <= ax.r2l(v) && ax.r2l(v) <= high + slack);
    };
    const paths = [...plot.querySelectorAll('.shapelayer path')];
    return (full.shapes || []).filter(s => s.visible !== false).map((shape, i) => {
        const path = paths.find(p => Number(p.getAttribute('data-index')) === shape._index) || paths[i];
        let box = null;
        if (path) {
            const r = path.getBoundingClientRect();
            const left = Math.max(r.left - 1, area.left), right = Math.min(r.right + 1, area.right);
            const top = Math.max(r.top - 1, area.top), bottom = Math.min(r.bottom + 1, area.bottom);
            if (right > left && bottom > top) box = {left: left - frame.left, top: top - frame.top,
                                                     right: right - frame.left, bottom: bottom - frame.top};
        }
        return {
            name: shape.name || shape.type, type: shape.type, x0: shape.x0, x1: shape.x1,
            inside: within(shape.xref, 'x', shape.x0, shape.x1) && within(shape.yref, 'y', shape.y0, shape.y1),
            box, fill: shape.fillcolor, line: shape.line && shape.line.width ? shape.line.color : null,
        };
    });
}"""
HIDE_SHAPES_JS = "(plot, hidden) => plot.querySelectorAll('.shapelayer path').forEach(p => p.style.visibility = hidden ? 'hidden' : '')"


def _rgba(color: str | None) -> tuple[np.ndarray, float] | None:
    """'rgb(…)', 'rgba(…)' or '#rrggbb' -> (rgb array, alpha)."""
    if not color or color == "transparent":
        return None
    if color.startswith("#"):
        return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], dtype=float), 1.0
    numbers = [float(part) for part in color[color.index("(") + 1 : -1].split(",")]
    return np.array(numbers[:3]), numbers[3] if len(numbers) > 3 else 1.0


def _image(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)


def check_shapes(page: Page, where: str) -> list[dict]:
    """Every shape of every Plotly chart on the page is inside its axes' visible range, and painted: within its
    on-screen box in the plot area, at least a few pixels change to its fill (composited over what is under it)
    or its edge colour when the shapes are drawn. Returns what was checked, one entry per shape."""
    checked = []
    for index, plot in enumerate(page.locator(".js-plotly-plot").all()):
        plot.scroll_into_view_if_needed()
        shapes = plot.evaluate(SHAPES_JS)
        if not shapes:
            continue
        outside = [shape for shape in shapes if not shape["inside"] or shape["box"] is None]
        assert not outside, f"{where}, chart {index}: shapes off the visible axis range: {outside[:3]}"
        drawn = _image(plot.screenshot())
        plot.evaluate(HIDE_SHAPES_JS, True)
        under = _image(plot.screenshot())
        plot.evaluate(HIDE_SHAPES_JS, False)
        scale = drawn.shape[1] / plot.bounding_box()["width"]
        for shape in shapes:
            box = shape["box"]
            rows = slice(int(box["top"] * scale), int(np.ceil(box["bottom"] * scale)))
            columns = slice(int(box["left"] * scale), int(np.ceil(box["right"] * scale)))
            with_shape, without = drawn[rows, columns], under[rows, columns]
            changed = np.abs(with_shape - without).sum(axis=2) > 6
            close = np.zeros_like(changed)
            fill = _rgba(shape["fill"])
            if fill is not None:
                expected = without * (1 - fill[1]) + fill[0] * fill[1]
                close |= np.abs(with_shape - expected).max(axis=2) <= 24
            line = _rgba(shape["line"])
            if line is not None:
                close |= np.abs(with_shape - line[0]).max(axis=2) <= 70
            painted = int((changed & close).sum())
            assert painted >= 3, f"{where}, chart {index}: {shape['name']} ({shape['x0']}…{shape['x1']}) is not painted"
            checked.append(shape | {"painted": painted, "chart": index})
    return checked
