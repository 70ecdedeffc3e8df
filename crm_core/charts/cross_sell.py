"""Figures of the Cross-sell page: the lift heatmap and "customers who buy this also buy" bars.

Pure and language-neutral like :mod:`crm_core.charts`: every text on a figure (titles, axis labels, legend
names, hover lines) comes in as a parameter; the page passes translated strings.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from crm_core.charts import PALETTE, themed

# Lift below 1 (bought together less than by chance) in warm tones, above 1 in blues, 1 itself white.
LIFT_COLOURS = [[0.0, "#E08E6D"], [0.5, "#F7F7F7"], [1.0, "#2166AC"]]


def _log2(value: float | None) -> float | None:
    if value is None or not value > 0 or math.isinf(value):
        return None
    return math.log2(value)


def lift_heatmap(items: Sequence[str], lift: Sequence[Sequence[float | None]], *, title: str, x_title: str,
                 y_title: str, colorbar_title: str, hover: Sequence[Sequence[str]], max_lift: float = 8.0) -> go.Figure:
    """Lift between items (rows: "if bought", columns: "also bought"), coloured on a log scale centred at 1.

    Colours use log2(lift) clipped to ±log2(``max_lift``), so lift 2 and lift ½ are equally far from
    white; cells print the lift itself. Empty cells (the diagonal, pairs never seen) stay blank.
    ``hover`` (same shape as ``lift``) is shown on each cell.
    """
    limit = math.log2(max_lift)
    colour = [[_log2(value) for value in row] for row in lift]
    text = [["" if value is None else (f"{value:.1f}" if value < 10 else f"{value:.0f}") for value in row]
            for row in lift]
    ticks = [value for value in (0.125, 0.25, 0.5, 1, 2, 4, 8, 16) if abs(math.log2(value)) <= limit + 1e-9]
    figure = go.Figure(go.Heatmap(
        z=colour, x=list(items), y=list(items), zmin=-limit, zmax=limit, zmid=0, colorscale=LIFT_COLOURS,
        text=text, texttemplate="%{text}", customdata=[list(row) for row in hover],
        hovertemplate="%{customdata}<extra></extra>", xgap=1, ygap=1,
        colorbar={"title": {"text": colorbar_title}, "tickvals": [math.log2(v) for v in ticks],
                  "ticktext": [f"{v:g}" for v in ticks]},
    ))
    themed(figure, title, x_title, y_title, height=max(420, 140 + 30 * len(items)))
    figure.update_xaxes(tickangle=-40, side="bottom", showgrid=False)
    figure.update_yaxes(autorange="reversed", showgrid=False)
    figure.update_layout(plot_bgcolor="white")
    return figure


def also_bought_bars(items: Sequence[str], share: Sequence[float], base_share: Sequence[float], *, title: str | None,
                     x_title: str, share_name: str, base_name: str, hover: Sequence[str]) -> go.Figure:
    """Horizontal bars: the share of ``item``'s baskets holding each other item, beside its overall share.

    The bar is the confidence of item → other, the diamond the other item's share of all baskets; the gap
    between them is the lift. ``hover`` holds one line per item.
    """
    figure = go.Figure([
        go.Bar(y=list(items), x=list(share), orientation="h", name=share_name, marker_color=PALETTE[0],
               customdata=list(hover), hovertemplate="%{customdata}<extra></extra>"),
        go.Scatter(y=list(items), x=list(base_share), mode="markers", name=base_name,
                   marker={"symbol": "diamond", "size": 11, "color": PALETTE[1],
                           "line": {"width": 1, "color": "white"}},
                   customdata=list(hover), hovertemplate="%{customdata}<extra></extra>"),
    ])
    themed(figure, title, x_title, None, height=max(300, 90 + 32 * len(items)))
    figure.update_xaxes(tickformat=".0%", rangemode="tozero", showgrid=True, gridcolor="#eee")
    figure.update_yaxes(autorange="reversed", showgrid=False)
    return figure
