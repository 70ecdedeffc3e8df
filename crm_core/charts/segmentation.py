"""Figures of the Segmentation page: segment sizes, the R × F grid, the Pareto curve, silhouettes, movement.

Pure and language-neutral like :mod:`crm_core.charts`: every text on a figure (titles, axis labels, legend
names, hover lines) comes in as a parameter; the page passes translated strings.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from crm_core.charts import PALETTE, Money, money_texts, money_ticks, themed

# Best segment first, worst last: greens and blues for the customers to keep, warm colours for those
# slipping away, greys for the lost. Keys outside a preset's list ("other", "none") get the greys at the end.
SEGMENT_COLOURS = ["#1B7837", "#5AAE61", "#0072B2", "#56B4E9", "#88CCEE", "#44AA99", "#E6AB02", "#E69F00",
                   "#D55E00", "#CC79A7", "#882255", "#777777"]
OTHER_COLOUR = "#AAAAAA"
NONE_COLOUR = "#DDDDDD"
# Light to medium blue: dark cell text stays readable on the fullest cell.
SOFT_BLUES = [[0.0, "#F7FBFF"], [0.5, "#C6DBEF"], [1.0, "#6BAED6"]]
# Clusters: Okabe-Ito hues in an order where neighbours (and the first five) are far apart.
CLUSTER_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#332288", "#56B4E9", "#999999"]
TIER_COLOURS = {"high": "#1B7837", "mid": "#E69F00", "low": "#999999"}


def segment_colours(ordered_keys: Sequence[str], other: str = "other", none: str = "none") -> dict[str, str]:
    """A fixed colour per segment key, by its position in a best-first list (so every chart agrees)."""
    colours = {}
    named = [key for key in dict.fromkeys(ordered_keys) if key not in (other, none)]
    for index, key in enumerate(named):
        colours[key] = SEGMENT_COLOURS[index % len(SEGMENT_COLOURS)]
    colours[other] = OTHER_COLOUR
    colours[none] = NONE_COLOUR
    return colours


def segment_treemap(labels: Sequence[str], customers: Sequence[int], colours: Sequence[str], texts: Sequence[str],
                    *, title: str, hover: Sequence[str] | None = None, height: int = 420) -> go.Figure:
    """One tile per segment sized by its customers; ``texts`` (one per tile) is printed under the name."""
    figure = go.Figure(go.Treemap(
        labels=list(labels), parents=[""] * len(labels), values=list(customers), branchvalues="total",
        marker={"colors": list(colours)}, text=list(texts), textinfo="label+text",
        customdata=list(hover) if hover is not None else list(texts),
        hovertemplate="<b>%{label}</b><br>%{customdata}<extra></extra>", sort=False,
        textfont={"color": "white"}, tiling={"pad": 2},
    ))
    themed(figure, title, height=height)
    figure.update_layout(margin={"l": 0, "r": 0, "t": 50, "b": 0})
    return figure


def share_bars(labels: Sequence[str], customer_share: Sequence[float], revenue_share: Sequence[float | None], *,
               title: str, customers_name: str, revenue_name: str, axis_title: str) -> go.Figure:
    """Share of customers beside share of revenue per segment (horizontal, first label on top)."""
    figure = go.Figure([
        go.Bar(y=list(labels), x=list(customer_share), name=customers_name, orientation="h", marker_color="#9ECAE1",
               hovertemplate="%{y}<br>" + customers_name + ": %{x:.1%}<extra></extra>"),
        go.Bar(y=list(labels), x=[v if v is not None else 0.0 for v in revenue_share], name=revenue_name,
               orientation="h", marker_color=PALETTE[0],
               hovertemplate="%{y}<br>" + revenue_name + ": %{x:.1%}<extra></extra>"),
    ])
    figure.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    themed(figure, title, axis_title, None, height=max(320, 70 + 34 * len(labels)))
    figure.update_yaxes(autorange="reversed", gridcolor="rgba(0,0,0,0)")
    figure.update_xaxes(tickformat=".0%", gridcolor="#eee", showgrid=True, rangemode="tozero")
    return figure


def rf_heatmap(counts: Sequence[Sequence[int]], cell_text: Sequence[Sequence[str]], hover: Sequence[Sequence[str]],
               r_scores: Sequence[int], f_scores: Sequence[int], *, title: str, x_title: str, y_title: str,
               colorbar_title: str, height: int = 420) -> go.Figure:
    """Customers per (R, F) cell: ``counts[i][j]`` belongs to R = ``r_scores[i]`` (row ``i`` from the top) and
    F = ``f_scores[j]`` (column ``j`` from the left); ``cell_text`` is printed in the cells, ``hover`` on pointing.
    """
    figure = go.Figure(go.Heatmap(
        z=[list(row) for row in counts], x=[str(s) for s in f_scores], y=[str(s) for s in r_scores],
        colorscale=SOFT_BLUES, text=[list(row) for row in cell_text], texttemplate="%{text}",
        textfont={"color": "#1a1a1a"}, customdata=[list(row) for row in hover],
        hovertemplate="%{customdata}<extra></extra>", xgap=2, ygap=2,
        colorbar={"title": {"text": colorbar_title, "side": "right"}, "thickness": 12},
    ))
    themed(figure, title, x_title, y_title, height=height)
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=[str(s) for s in f_scores])
    figure.update_yaxes(type="category", categoryorder="array", categoryarray=[str(s) for s in r_scores],
                        autorange="reversed", gridcolor="rgba(0,0,0,0)")
    return figure


def pareto(customer_share: Sequence[float], revenue_share: Sequence[float], *, cuts: Sequence[float],
           tier_ends: Sequence[float], tier_names: Sequence[str], tier_colours: Sequence[str], title: str,
           x_title: str, y_title: str, curve_name: str, cut_labels: Sequence[str], height: int = 420) -> go.Figure:
    """The Pareto (Lorenz-style) curve of revenue with the tiers shaded.

    ``tier_ends`` are the customer shares where each tier ends (ascending, the last one is 1); the tier
    bands are shaded between them. ``cuts`` are the revenue shares of the tier cuts, drawn as dashed lines
    labelled ``cut_labels``.
    """
    figure = go.Figure()
    start = 0.0
    for end, name, colour in zip(tier_ends, tier_names, tier_colours):
        if end > start:
            figure.add_vrect(x0=start, x1=end, fillcolor=colour, opacity=0.10, line_width=0, layer="below",
                             annotation_text=name, annotation_position="bottom right",
                             annotation_font={"size": 12, "color": colour})
        start = end
    figure.add_trace(go.Scatter(x=list(customer_share), y=list(revenue_share), mode="lines", name=curve_name,
                                line={"color": PALETTE[0], "width": 3},
                                hovertemplate=x_title + ": %{x:.1%}<br>" + y_title + ": %{y:.1%}<extra></extra>"))
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"color": "#bbbbbb", "dash": "dot", "width": 1},
                                hoverinfo="skip", showlegend=False))
    for cut, label in zip(cuts, cut_labels):
        figure.add_hline(y=cut, line={"color": "#666666", "dash": "dash", "width": 1}, annotation_text=label,
                         annotation_position="top left", annotation_font={"size": 11, "color": "#444444"})
    themed(figure, title, x_title, y_title, height=height)
    figure.update_xaxes(tickformat=".0%", range=[0, 1], showgrid=True, gridcolor="#eee")
    figure.update_yaxes(tickformat=".0%", range=[0, 1.02])
    figure.update_layout(showlegend=False)
    return figure


def silhouette_bars(ks: Sequence[int], scores: Sequence[float], chosen: int | None, *, title: str, x_title: str,
                    y_title: str, chosen_name: str, height: int = 380) -> go.Figure:
    """Mean silhouette per number of clusters; the k in use is highlighted (and named in the hover)."""
    colours = [PALETTE[1] if k == chosen else "#9ECAE1" for k in ks]
    figure = go.Figure(go.Bar(
        x=[str(k) for k in ks], y=list(scores), marker_color=colours,
        customdata=[chosen_name if k == chosen else "" for k in ks],
        hovertemplate="k = %{x}<br>" + y_title + ": %{y:.3f}<br>%{customdata}<extra></extra>",
        text=[f"{s:.2f}" for s in scores], textposition="outside",
    ))
    themed(figure, title, x_title, y_title, height=height)
    top = max(scores) if scores else 1.0
    figure.update_yaxes(range=[min(0.0, min(scores, default=0.0)), top * 1.2 if top > 0 else 1.0])
    figure.update_xaxes(type="category")
    return figure


def cluster_scatter(x: Sequence[float], y: Sequence[float], groups: Sequence[int], names: Mapping[int, str],
                    ids: Sequence[str], extra: Sequence[float], *, title: str, x_title: str, y_title: str,
                    extra_title: str, log_x: bool = False, log_y: bool = True, money: Money | None = None,
                    height: int = 500) -> go.Figure:
    """Customers as points coloured by cluster (legend: ``names[cluster]``), one WebGL trace per cluster.

    The hover names the customer (``ids``) and shows x, y (money, written by ``money``) and ``extra`` (e.g. orders).
    """
    figure = go.Figure()
    xs, ys, gs, labels, extras = (np.asarray(values) for values in (x, y, groups, ids, extra))
    amounts = np.asarray(money_texts(ys.tolist(), money) or [""] * len(ys), dtype=object)
    template = ("<b>%{text}</b><br>" + x_title + ": %{x:,}<br>" + y_title + ": "
                + ("%{customdata[1]}" if money else "%{y:,.0f}") + "<br>" + extra_title
                + ": %{customdata[0]:,}<extra></extra>")
    for colour_index, cluster in enumerate(sorted(set(gs.tolist()))):
        picks = gs == cluster
        figure.add_trace(go.Scattergl(
            x=xs[picks], y=ys[picks], mode="markers", name=names.get(cluster, str(cluster)), text=labels[picks],
            customdata=np.column_stack([extras[picks].astype(object), amounts[picks]]), hovertemplate=template,
            marker={"size": 5, "opacity": 0.6, "color": CLUSTER_COLOURS[colour_index % len(CLUSTER_COLOURS)]},
        ))
    themed(figure, title, x_title, y_title, height=height)
    figure.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0})
    if log_x:
        figure.update_xaxes(type="log")
    if log_y:
        figure.update_yaxes(type="log", **(money_ticks(ys.tolist(), money, log=True) if money
                                           else {"dtick": 1, "tickformat": "~s"}))
    elif money:
        figure.update_yaxes(**money_ticks(ys.tolist(), money))
    return figure


def movement_heatmap(z: Sequence[Sequence[float | None]], cell_text: Sequence[Sequence[str]],
                     hover: Sequence[Sequence[str]], from_labels: Sequence[str], to_labels: Sequence[str], *,
                     title: str, x_title: str, y_title: str, colorbar_title: str,
                     money: Money | None = None) -> go.Figure:
    """From-segment (rows, first on top) × to-segment (columns) matrix; empty cells carry ``None``; ``money``:
    the cells are amounts, written on the colour bar by this formatter."""
    figure = go.Figure(go.Heatmap(
        z=[list(row) for row in z], x=list(to_labels), y=list(from_labels), colorscale=SOFT_BLUES,
        text=[list(row) for row in cell_text], texttemplate="%{text}", textfont={"color": "#1a1a1a"},
        customdata=[list(row) for row in hover],
        hovertemplate="%{customdata}<extra></extra>", xgap=1, ygap=1, hoverongaps=False,
        colorbar={"title": {"text": colorbar_title, "side": "right"}, "thickness": 12,
                  **(money_ticks([v for row in z for v in row if v is not None], money) if money else {})},
    ))
    themed(figure, title, x_title, y_title, height=max(420, 200 + 34 * len(from_labels)))
    figure.update_yaxes(autorange="reversed", type="category", gridcolor="rgba(0,0,0,0)")
    figure.update_xaxes(type="category", tickangle=-35)
    return figure


def movement_sankey(sources: Sequence[str], targets: Sequence[str], values: Sequence[float],
                    node_colours: Mapping[str, str], order: Sequence[str], *, title: str, left_names: Mapping[str, str],
                    right_names: Mapping[str, str], hover: Sequence[str] | None = None, height: int = 560) -> go.Figure:
    """Flows from segment keys on the left (before) to keys on the right (after), coloured by segment.

    Nodes are stacked top-down in ``order`` on both sides (plotly would otherwise reorder them to reduce
    crossings, and the same segment would sit at different heights left and right). ``left_names`` /
    ``right_names`` map keys to the node labels shown; each link takes its source's colour.
    """
    rank = {key: i for i, key in enumerate(order)}
    left = sorted(set(sources), key=lambda k: (rank.get(k, len(rank)), k))
    right = sorted(set(targets), key=lambda k: (rank.get(k, len(rank)), k))
    index_left = {key: i for i, key in enumerate(left)}
    index_right = {key: len(left) + i for i, key in enumerate(right)}
    colours = [node_colours.get(key, OTHER_COLOUR) for key in left + right]

    def stacked(keys: list[str], ends: Sequence[str]) -> list[float]:
        """Vertical centres (0 = top) of nodes stacked by their total value, with room for the node padding."""
        totals = {key: 0.0 for key in keys}
        for key, value in zip(ends, values):
            totals[key] += float(value)
        grand = sum(totals.values()) or 1.0
        gap = 0.12 / max(len(keys) - 1, 1)
        centres, top = [], 0.0
        for key in keys:
            share = totals[key] / grand * 0.88
            centres.append(min(max(top + share / 2, 0.001), 0.999))
            top += share + gap
        return centres

    def faded(hex_colour: str) -> str:
        red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
        return f"rgba({red},{green},{blue},0.35)"

    figure = go.Figure(go.Sankey(
        arrangement="fixed",
        node={"label": [left_names.get(k, k) for k in left] + [right_names.get(k, k) for k in right],
              "color": colours, "pad": 8, "thickness": 14, "line": {"width": 0},
              "x": [0.001] * len(left) + [0.999] * len(right),
              "y": stacked(left, sources) + stacked(right, targets),
              "hovertemplate": "%{label}<extra></extra>"},
        link={"source": [index_left[s] for s in sources], "target": [index_right[t] for t in targets],
              "value": list(values), "color": [faded(node_colours.get(s, OTHER_COLOUR)) for s in sources],
              "customdata": list(hover) if hover is not None else None,
              "hovertemplate": "%{customdata}<extra></extra>" if hover is not None else None},
    ))
    return themed(figure, title, height=height)
