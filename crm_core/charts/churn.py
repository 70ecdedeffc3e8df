"""Figures of the Churn-risk page.

Cumulative gains, calibration, feature importance, risk by group, revenue saved by contact capacity.

Pure and language-neutral like :mod:`crm_core.charts`: every text on a figure (titles, axis labels, legend
names, hover lines) comes in as a parameter; the page passes translated strings.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from crm_core.charts import PALETTE, Money, money_texts, themed

# One colour per risk tier (crm_core.churn.RISK_TIERS), Okabe–Ito: red-orange high, orange medium, green low.
TIER_COLOURS = {"high": "#D55E00", "medium": "#E69F00", "low": "#009E73"}
REFERENCE_COLOUR = "#999999"


def _inside(x: str, y: str) -> dict:
    """A vertical legend inside the plot area, in the corner ``x`` (left/right) × ``y`` (top/bottom)."""
    return {"orientation": "v", "x": 0.98 if x == "right" else 0.02, "xanchor": x,
            "y": 0.02 if y == "bottom" else 0.98, "yanchor": y, "bgcolor": "rgba(255,255,255,0.85)",
            "bordercolor": "#ddd", "borderwidth": 1}


def gains_chart(share_contacted: Sequence[float], curves: Mapping[str, Sequence[float]], *, title: str,
                x_title: str, y_title: str, random_name: str, random: Sequence[float] | None = None,
                height: int = 400) -> go.Figure:
    """Cumulative gains: share of churners caught (y) when contacting the riskiest share of customers (x).

    ``curves`` maps a legend name to its y values, the first one (the model) drawn thickest; the random
    ranking (``random``, default the diagonal) is a dashed grey line.
    """
    x = list(share_contacted)
    figure = go.Figure()
    for index, (name, values) in enumerate(curves.items()):
        figure.add_trace(go.Scatter(
            x=x, y=list(values), name=name, mode="lines",
            line={"color": PALETTE[index % len(PALETTE)], "width": 3.5 if index == 0 else 2,
                  "dash": "solid" if index == 0 else ("dot" if index % 2 else "dashdot")},
            hovertemplate=f"{name}<br>{x_title}: %{{x:.0%}}<br>{y_title}: %{{y:.1%}}<extra></extra>"))
    figure.add_trace(go.Scatter(
        x=x, y=list(random) if random is not None else x, name=random_name, mode="lines",
        line={"color": REFERENCE_COLOUR, "width": 1.5, "dash": "dash"}, hoverinfo="skip"))
    themed(figure, title, x_title, y_title, height=height)
    figure.update_layout(legend=_inside("right", "bottom"))  # the curves leave the lower right empty
    figure.update_xaxes(tickformat=".0%", range=[0, 1], showgrid=True, gridcolor="#eee")
    figure.update_yaxes(tickformat=".0%", range=[0, 1.02])
    return figure


def calibration_chart(predicted: Sequence[float], observed: Sequence[float], *, title: str, x_title: str,
                      y_title: str, points_name: str, diagonal_name: str, hover: Sequence[str],
                      height: int = 400) -> go.Figure:
    """Observed vs mean predicted churn rate per decile of predicted probability.

    Beside the diagonal: a perfectly calibrated model lies on it.
    """
    figure = go.Figure([
        go.Scatter(x=[0, 1], y=[0, 1], name=diagonal_name, mode="lines",
                   line={"color": REFERENCE_COLOUR, "width": 1.5, "dash": "dash"}, hoverinfo="skip"),
        go.Scatter(x=list(predicted), y=list(observed), name=points_name, mode="lines+markers",
                   line={"color": PALETTE[0], "width": 2.5}, marker={"size": 9}, customdata=list(hover),
                   hovertemplate="%{customdata}<extra></extra>"),
    ])
    themed(figure, title, x_title, y_title, height=height)
    figure.update_layout(legend=_inside("left", "top"))  # points follow the diagonal: the upper left is empty
    figure.update_xaxes(tickformat=".0%", range=[0, 1], showgrid=True, gridcolor="#eee")
    figure.update_yaxes(tickformat=".0%", range=[0, 1.02])
    return figure


def importance_chart(labels: Sequence[str], values: Sequence[float], errors: Sequence[float] | None = None, *,
                     title: str, value_title: str, hover: Sequence[str] | None = None) -> go.Figure:
    """Horizontal bars, the most important feature on top, with ± one standard deviation as error bars."""
    figure = go.Figure(go.Bar(
        y=list(labels), x=list(values), orientation="h", marker_color=PALETTE[0],
        error_x={"type": "data", "array": list(errors), "color": "#555555", "thickness": 1.2}
        if errors is not None else None,
        customdata=list(hover) if hover is not None else None,
        hovertemplate="%{customdata}<extra></extra>" if hover is not None else None,
    ))
    themed(figure, title, value_title, None, height=max(280, 60 + 26 * len(labels)))
    figure.update_yaxes(autorange="reversed", type="category", gridcolor="rgba(0,0,0,0)")
    figure.update_xaxes(showgrid=True, gridcolor="#eee", zeroline=True, zerolinecolor="#bbb")
    return figure


def flag_bars(labels: Sequence[str], counts: Sequence[int], texts: Sequence[str], *, title: str, value_title: str,
              hover: Sequence[str]) -> go.Figure:
    """Customers carrying each warning flag: horizontal bars (first flag on top), the count printed beside."""
    figure = go.Figure(go.Bar(
        y=list(labels), x=list(counts), orientation="h", marker_color=PALETTE[1], text=list(texts),
        textposition="outside", cliponaxis=False, customdata=list(hover), hovertemplate="%{customdata}<extra></extra>",
    ))
    themed(figure, title, value_title, None, height=max(260, 70 + 32 * len(labels)))
    top = max([c for c in counts if c is not None] + [0])
    figure.update_xaxes(range=[0, top * 1.15 if top > 0 else 1], showgrid=True, gridcolor="#eee", tickformat=",d")
    figure.update_yaxes(autorange="reversed", type="category", gridcolor="rgba(0,0,0,0)")
    return figure


def tier_share_bars(groups: Sequence[str], shares: Mapping[str, Sequence[float]], colours: Mapping[str, str], *,
                    title: str, value_title: str, hover: Mapping[str, Sequence[str]]) -> go.Figure:
    """One horizontal 100 % bar per group (first group on top), split by risk tier.

    ``shares`` maps a tier's legend name to each group's share of customers in that tier; ``colours`` and
    ``hover`` are keyed the same way.
    """
    figure = go.Figure([
        go.Bar(y=list(groups), x=list(values), name=name, orientation="h", marker_color=colours.get(name),
               customdata=list(hover[name]), hovertemplate="%{customdata}<extra></extra>")
        for name, values in shares.items()
    ])
    themed(figure, title, value_title, None, height=max(280, 90 + 30 * len(groups)))
    figure.update_layout(barmode="stack", legend={"traceorder": "normal"})  # legend in the order given
    figure.update_xaxes(tickformat=".0%", range=[0, 1], showgrid=True, gridcolor="#eee")
    figure.update_yaxes(autorange="reversed", type="category", gridcolor="rgba(0,0,0,0)")
    return figure


def capacity_chart(contacted: Sequence[int], saved: Sequence[float | None], capacity: int,
                   saved_at_capacity: float | None, *,
                   title: str, x_title: str, y_title: str, line_name: str, marker_name: str, marker_text: str,
                   money: Money | None = None) -> go.Figure:
    """Expected revenue saved against the number of customers contacted.

    y: money written by ``money``; x: customers, highest value at risk first. The chosen capacity is
    marked by a vertical line and a point.
    """
    amounts = money_texts(saved, money)
    figure = go.Figure([
        go.Scatter(x=list(contacted), y=list(saved), name=line_name, mode="lines",
                   line={"color": PALETTE[0], "width": 3}, fill="tozeroy", fillcolor="rgba(0,114,178,0.08)",
                   customdata=amounts,
                   hovertemplate=(f"{x_title}: %{{x:,}}<br>{y_title}: "
                                  f"{'%{customdata}' if amounts else '%{y:,.0f}'}<extra></extra>")),
        go.Scatter(x=[capacity], y=[saved_at_capacity], name=marker_name, mode="markers+text",
                   marker={"color": PALETTE[5], "size": 13, "line": {"color": "white", "width": 2}},
                   text=[marker_text], textposition="middle right", cliponaxis=False,
                   hovertemplate=f"{marker_text}<extra></extra>"),
    ])
    figure.add_vline(x=capacity, line={"color": PALETTE[5], "width": 1.5, "dash": "dot"})
    themed(figure, title, x_title, y_title, money_axis="y", money=money, height=400)
    figure.update_xaxes(showgrid=True, gridcolor="#eee", rangemode="tozero", tickformat=",d")
    figure.update_yaxes(rangemode="tozero")
    return figure
