"""Small bqplot and HTML building blocks the three dashboards share."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import bqplot as bq
import ipywidgets as w

ACCENT = "#f37726"  # Jupyter orange, as the Hub's own pages
CALM = "#1f77b4"
WARN = "#d62728"


LINK = "color:#1a73e8;text-decoration:underline"


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def card(title: str, body: w.Widget, note: str = "") -> w.VBox:
    head = f"<h3 style='margin:4px 0'>{esc(title)}</h3>"
    if note:
        head += f"<div style='color:#666;font-size:90%'>{esc(note)}</div>"
    return w.VBox(
        [w.HTML(head), body],
        layout=w.Layout(border="1px solid #ddd", padding="8px", margin="4px", min_width="0"),
    )


def message(text: str, *, error: bool = False) -> w.HTML:
    color = WARN if error else "#555"
    return w.HTML(f"<p style='color:{color}'>{esc(text)}</p>")


def tiles(figures: Sequence[tuple[str, Any]]) -> w.HTML:
    """Big numbers in a row: [(label, value)]."""
    cells = "".join(
        "<div style='flex:1;border:1px solid #ddd;padding:8px;margin:4px;text-align:center'>"
        f"<div style='font-size:28px;font-weight:600'>{esc(value)}</div>"
        f"<div style='color:#666'>{esc(label)}</div></div>"
        for label, value in figures
    )
    return w.HTML(f"<div style='display:flex;flex-wrap:wrap'>{cells}</div>")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, raw: int = -1) -> w.HTML:
    """An HTML table; column `raw` holds ready-made (already escaped) HTML, e.g. links."""
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td style='padding:2px 8px'>{cell if i == raw else esc(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return w.HTML(
        "<div style='max-height:320px;overflow:auto'><table style='border-collapse:collapse'>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _figure(marks: list[Any], axes: list[Any], height: int, left: int = 60) -> bq.Figure:
    return bq.Figure(
        marks=marks,
        axes=axes,
        fig_margin={"top": 10, "bottom": 50, "left": left, "right": 10},
        layout=w.Layout(width="100%", height=f"{height}px"),
        animation_duration=0,
    )


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    x_label: str = "",
    y_label: str = "",
    y_max: float | None = None,
    horizontal: bool = False,
    color: str = ACCENT,
    height: int = 260,
) -> bq.Figure:
    counts = y_max is None and all(float(v).is_integer() for v in values)
    if counts:  # whole numbers: whole ticks, and room above the tallest bar
        y_max = float(max([4, *values]))
    xs, ys = bq.OrdinalScale(), bq.LinearScale(min=0.0, max=y_max)
    mark = bq.Bars(
        x=list(labels),
        y=list(values),
        scales={"x": xs, "y": ys},
        colors=[color],
        orientation="horizontal" if horizontal else "vertical",
        tooltip=bq.Tooltip(fields=["x", "y"]),
    )
    crowded = not horizontal and len(labels) > 6  # long ordinal axes: slanted labels
    x_axis = bq.Axis(
        scale=xs,
        label="" if crowded else x_label,
        orientation="vertical" if horizontal else "horizontal",
        tick_rotate=-40 if crowded else 0,
        tick_style={"font-size": "10px"} if crowded else {},
    )
    y_axis = bq.Axis(
        scale=ys,
        label=y_label,
        orientation="horizontal" if horizontal else "vertical",
        tick_format="d" if counts else "",
        tick_values=whole_ticks(y_max or 4) if counts else None,
    )
    if horizontal:  # one row per label, and room on the left for the labels
        height = max(120, 28 * len(labels) + 60)
        return _figure([mark], [x_axis, y_axis], height, left=min(260, 24 + 8 * longest(labels)))
    return _figure([mark], [x_axis, y_axis], height)


def whole_ticks(top: float) -> list[int]:
    """Ticks on whole numbers only, at most six of them (bqplot spaces ticks evenly)."""
    step = max(1, math.ceil(top / 5))
    return list(range(0, int(top) + step, step))


def longest(labels: Sequence[str]) -> int:
    return max((len(str(label)) for label in labels), default=0)


def lines(
    days: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    y_label: str = "",
    height: int = 260,
) -> bq.Figure:
    """One line per series over ordinal days (dates as labels)."""
    xs, ys = bq.OrdinalScale(), bq.LinearScale(min=0.0)
    colors = [ACCENT, CALM, WARN, "#2ca02c"]
    marks = [
        bq.Lines(
            x=list(days),
            y=[float("nan") if v is None else v for v in values],
            scales={"x": xs, "y": ys},
            colors=[colors[i % len(colors)]],
            labels=[name],
            display_legend=len(series) > 1,
            marker="circle",
        )
        for i, (name, values) in enumerate(series.items())
    ]
    x_axis = bq.Axis(scale=xs, tick_rotate=-45, tick_style={"font-size": "10px"})
    known = [v for values in series.values() for v in values if v is not None]
    if known and all(float(v).is_integer() for v in known):  # people: whole ticks
        ys.max = float(max([4, *known]))
        y_axis = bq.Axis(
            scale=ys,
            label=y_label,
            orientation="vertical",
            tick_format="d",
            tick_values=whole_ticks(ys.max),
        )
    else:
        y_axis = bq.Axis(scale=ys, label=y_label, orientation="vertical")
    return _figure(marks, [x_axis, y_axis], height)


def scatter(
    xs_values: Sequence[float],
    ys_values: Sequence[float],
    names: Sequence[str],
    *,
    x_label: str,
    y_label: str,
    colors: Sequence[str] | None = None,
    height: int = 260,
) -> bq.Figure:
    top = float(max([4, *ys_values]))
    xs, ys = bq.LinearScale(min=0.0, max=100.0), bq.LinearScale(min=0.0, max=top)
    mark = bq.Scatter(
        x=list(xs_values),
        y=list(ys_values),
        names=list(names),
        display_names=False,
        scales={"x": xs, "y": ys},
        colors=list(colors or [ACCENT]),
        default_size=40,
        tooltip=bq.Tooltip(fields=["name", "x", "y"], labels=["student", x_label, y_label]),
    )
    return _figure(
        [mark],
        [
            bq.Axis(scale=xs, label=x_label),
            bq.Axis(
                scale=ys,
                label=y_label,
                orientation="vertical",
                tick_format="d",
                tick_values=whole_ticks(top),
            ),
        ],
        height,
    )
