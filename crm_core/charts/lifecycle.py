"""Figures of the Lifecycle & value page: stage bars, stage flows, cohort matrix, CLV histogram, P(alive) map,
holdout check.

Pure and language-neutral like :mod:`crm_core.charts`: every text on a figure (titles, axis labels, legend
names, hover lines) comes in as a parameter; the page passes translated strings.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from crm_core.charts import PALETTE, SEQUENTIAL, Money, money_ticks, themed

# One colour per stage key (crm_core.lifecycle.STAGES, plus "none" for not-yet-customers), Okabe–Ito based:
# blues and green for the customers buying now, orange for overdue, purple and red for those gone quiet.
STAGE_COLOURS = {
    "prospect": "#999999", "new": "#56B4E9", "active": "#009E73", "reactivated": "#0072B2",
    "at_risk": "#E69F00", "dormant": "#CC79A7", "churned": "#D55E00", "none": "#CCCCCC",
}
OTHER_COLOUR = "#BBBBBB"


def _faded(hex_colour: str, alpha: float = 0.35) -> str:
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def stage_bars(labels: Sequence[str], values: Sequence[float], colours: Sequence[str], *, title: str,
               value_title: str, texts: Sequence[str], hover: Sequence[str], money: Money | None = None,
               height: int | None = None) -> go.Figure:
    """One horizontal bar per stage (first label on top), coloured per stage, ``texts`` printed beside;
    ``money``: the values are amounts, written on the axis by this formatter."""
    figure = go.Figure(go.Bar(
        y=list(labels), x=list(values), orientation="h", marker_color=list(colours), text=list(texts),
        textposition="outside", cliponaxis=False, customdata=list(hover),
        hovertemplate="%{customdata}<extra></extra>",
    ))
    themed(figure, title, value_title, None, money_axis="x" if money else None, money=money,
           height=height or max(280, 70 + 36 * len(labels)))
    top = max([v for v in values if v is not None] + [0.0])
    figure.update_xaxes(range=[0, top * 1.25 if top > 0 else 1], showgrid=True, gridcolor="#eee",
                        dtick=1 if not money and top < 5 else None)  # no half customers on a tiny axis
    figure.update_yaxes(autorange="reversed", type="category", gridcolor="rgba(0,0,0,0)")
    return figure


def _column_positions(sizes: Sequence[float], pad: float = 0.04) -> list[float]:
    """Vertical centres (0 = top, 1 = bottom) for nodes of the given sizes stacked in order."""
    total = float(sum(sizes)) or 1.0
    free = max(0.0, 1.0 - pad * (len(sizes) - 1))
    centres, top = [], 0.0
    for size in sizes:
        height = free * size / total
        centres.append(min(0.999, max(0.001, top + height / 2)))
        top += height + pad
    return centres


def stage_sankey(sources: Sequence[str], targets: Sequence[str], values: Sequence[float], order: Sequence[str],
                 colours: Mapping[str, str], *, title: str, names: Mapping[str, str],
                 hover: Sequence[str] | None = None, node_hover: Mapping[str, str] | None = None,
                 height: int = 520) -> go.Figure:
    """Flows from the stage keys on the left (before) to those on the right (after).

    Nodes stand in ``order`` top to bottom on both sides (so the same stage sits at the same height), are
    labelled ``names[key]`` and coloured ``colours[key]``; each link takes its source's colour, faded.
    """
    values = [float(v) for v in values]
    left = [key for key in order if key in set(sources)]
    right = [key for key in order if key in set(targets)]
    left_size = {key: sum(v for s, v in zip(sources, values) if s == key) for key in left}
    right_size = {key: sum(v for t, v in zip(targets, values) if t == key) for key in right}
    index_left = {key: i for i, key in enumerate(left)}
    index_right = {key: len(left) + i for i, key in enumerate(right)}
    keys = left + right
    figure = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": [names.get(key, key) for key in keys],
              "color": [colours.get(key, OTHER_COLOUR) for key in keys],
              "x": [0.001] * len(left) + [0.999] * len(right),
              "y": _column_positions([left_size[k] for k in left]) + _column_positions([right_size[k] for k in right]),
              "pad": 12, "thickness": 16, "line": {"width": 0},
              "customdata": [(node_hover or {}).get(key, names.get(key, key)) for key in keys],
              "hovertemplate": "%{customdata}<extra></extra>"},
        link={"source": [index_left[s] for s in sources], "target": [index_right[t] for t in targets],
              "value": values, "color": [_faded(colours.get(s, OTHER_COLOUR)) for s in sources],
              "customdata": list(hover) if hover is not None else None,
              "hovertemplate": "%{customdata}<extra></extra>" if hover is not None else None},
    ))
    return themed(figure, title, height=height)


def cohort_heatmap(z: Sequence[Sequence[float | None]], text: Sequence[Sequence[str]], hover: Sequence[Sequence[str]],
                   incomplete: Sequence[Sequence[bool]], x_labels: Sequence[str], y_labels: Sequence[str], *,
                   title: str, x_title: str, y_title: str, colorbar_title: str, percent: bool = False,
                   money: Money | None = None, zmax: float | None = None) -> go.Figure:
    """Cohorts (rows, oldest on top) × periods since the first order (columns).

    ``incomplete[i][j]`` cells (the period had not ended on the analysis date) get a dashed outline; the
    page also marks them in ``text`` and ``hover``. ``zmax`` caps the colour scale (period 0 is 100 % or the
    cohort size by definition, so the page caps at the later periods' maximum to keep them readable).
    ``money``: the cells are amounts, written on the colour bar by this formatter.
    """
    if percent:
        scale = {"tickformat": ".0%"}
    elif money is not None:
        scale = money_ticks([v for row in z for v in row if v is not None and (zmax is None or v <= zmax)], money)
    else:
        scale = {"tickformat": ",d"}
    figure = go.Figure(go.Heatmap(
        z=[list(row) for row in z], x=list(x_labels), y=list(y_labels), colorscale=SEQUENTIAL, zmin=0, zmax=zmax,
        text=[list(row) for row in text], texttemplate="%{text}", textfont={"size": 10},
        customdata=[list(row) for row in hover], hovertemplate="%{customdata}<extra></extra>",
        xgap=1, ygap=1, hoverongaps=False,
        colorbar={"title": {"text": colorbar_title, "side": "right"}, "thickness": 12, **scale},
    ))
    for row, flags in enumerate(incomplete):
        for column, flag in enumerate(flags):
            if flag:
                figure.add_shape(type="rect", x0=column - 0.5, x1=column + 0.5, y0=row - 0.5, y1=row + 0.5,
                                 line={"color": "#333333", "width": 1.2, "dash": "dot"}, layer="above")
    themed(figure, title, x_title, y_title, height=max(340, 120 + 22 * len(y_labels)))
    figure.update_xaxes(type="category", side="top", tickangle=0)
    figure.update_yaxes(type="category", autorange="reversed", gridcolor="rgba(0,0,0,0)")
    figure.update_layout(margin={"l": 10, "r": 10, "t": 90, "b": 10}, title={"y": 0.99, "yanchor": "top"})
    return figure


def value_histogram(values: Sequence[float], *, title: str, x_title: str, y_title: str, hover_template: str,
                    cap: float | None = None, bins: int = 40, money: Money | None = None) -> go.Figure:
    """Customers per band of predicted value. Values above ``cap`` fall into the last band (long tails
    would otherwise squeeze every other bar into one). ``hover_template`` receives ``{low}``, ``{high}``
    (amounts, written by ``money``; plain numbers without it) and ``{customers}``."""
    data = np.asarray(list(values), dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return themed(go.Figure(), title, x_title, y_title)
    top = float(cap) if cap is not None and cap > data.min() else float(data.max())
    counts, edges = np.histogram(np.clip(data, None, top), bins=bins, range=(min(0.0, float(data.min())), top or 1.0))
    amount = money or (lambda value: f"{value:,.0f}")
    hover = [hover_template.format(low=amount(low), high=amount(high), customers=f"{n:,}")
             for low, high, n in zip(edges[:-1], edges[1:], counts)]
    figure = go.Figure(go.Bar(
        x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges) * 0.95, marker_color=PALETTE[0],
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
    ))
    themed(figure, title, x_title, y_title, money_axis="x", money=money)
    figure.update_yaxes(rangemode="tozero")
    return figure


def alive_map(z: Sequence[Sequence[float | None]], days_since_last: Sequence[int], repeat_purchases: Sequence[int], *,
              title: str, x_title: str, y_title: str, colorbar_title: str, hover: Sequence[Sequence[str]],
              line_name: str | None = None) -> go.Figure:
    """P(alive) over days since the last purchase (columns) × repeat purchases (rows, most at the top),
    with the 50 % line drawn (named ``line_name``) where the map crosses it."""
    x = list(days_since_last)
    y = list(repeat_purchases)
    figure = go.Figure(go.Heatmap(
        z=[list(row) for row in z], x=x, y=y, colorscale=SEQUENTIAL, zmin=0, zmax=1,
        customdata=[list(row) for row in hover], hovertemplate="%{customdata}<extra></extra>",
        colorbar={"title": {"text": colorbar_title, "side": "right"}, "thickness": 12, "tickformat": ".0%"},
    ))
    if line_name:
        figure.add_trace(go.Contour(
            z=[list(row) for row in z], x=x, y=y, contours={"start": 0.5, "end": 0.5, "size": 1, "coloring": "none",
                                                            "showlabels": False},
            line={"color": PALETTE[1], "width": 3}, showscale=False, hoverinfo="skip", name=line_name,
            showlegend=True,
        ))
    themed(figure, title, x_title, y_title, height=440)
    figure.update_yaxes(gridcolor="rgba(0,0,0,0)")
    return figure


def holdout_chart(labels: Sequence[str], predicted: Sequence[float], actual: Sequence[float], *, title: str,
                  x_title: str, y_title: str, predicted_name: str, actual_name: str,
                  hover: Sequence[str]) -> go.Figure:
    """Average predicted vs actual purchases in the holdout per calibration-frequency group (lifetimes'
    ``plot_calibration_purchases_vs_holdout_purchases``); ``hover`` names each group's size."""
    figure = go.Figure([
        go.Scatter(x=list(labels), y=list(actual), name=actual_name, mode="lines+markers",
                   line={"color": PALETTE[0], "width": 3}, customdata=list(hover),
                   hovertemplate="%{customdata}<br>" + actual_name + ": %{y:.2f}<extra></extra>"),
        go.Scatter(x=list(labels), y=list(predicted), name=predicted_name, mode="lines+markers",
                   line={"color": PALETTE[1], "width": 3, "dash": "dash"}, customdata=list(hover),
                   hovertemplate="%{customdata}<br>" + predicted_name + ": %{y:.2f}<extra></extra>"),
    ])
    themed(figure, title, x_title, y_title, height=400)
    figure.update_xaxes(type="category")
    figure.update_yaxes(rangemode="tozero")
    return figure
