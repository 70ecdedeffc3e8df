"""Figures of the Customer 360 page: one customer's orders and interactions on a time axis, monthly spend.

Pure and language-neutral like :mod:`crm_core.charts`: every text (titles, axis labels, row names, hover
lines) comes in as a parameter; the page passes translated strings.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import plotly.graph_objects as go

from crm_core.charts import PALETTE, Money, themed

ORDER_COLOUR = PALETTE[0]
REFUND_COLOUR = "#D55E00"
COMPLAINT_COLOUR = "#CC79A7"
MIN_MARKER, MAX_MARKER = 9.0, 26.0


def _marker_sizes(amounts: Sequence[float | None]) -> list[float]:
    """Order markers grow with the square root of the order value (area ∝ value); others get the minimum."""
    magnitudes = [abs(a) for a in amounts if a is not None and not math.isnan(a)]
    largest = max(magnitudes, default=0.0)
    sizes = []
    for amount in amounts:
        if amount is None or math.isnan(amount) or largest <= 0:
            sizes.append(MIN_MARKER)
        else:
            sizes.append(MIN_MARKER + (MAX_MARKER - MIN_MARKER) * math.sqrt(abs(amount) / largest))
    return sizes


def timeline(dates: Sequence[datetime | date], kinds: Sequence[str], hover: Sequence[str],
             amounts: Sequence[float | None], *, kind_names: Mapping[str, str], title: str, x_title: str | None = None,
             y_title: str | None = None, order_kinds: Sequence[str] = ("order", "refund"),
             complaint_kinds: Sequence[str] = ("complaint",)) -> go.Figure:
    """Events on one time axis: x = date, one row per kind (orders on top), hover = ``hover`` text.

    ``kind_names`` maps each kind to its row label; order markers are sized by ``amounts``.
    """
    rows = list(dict.fromkeys([k for k in order_kinds if k in kinds] + list(kinds)))
    sizes = _marker_sizes(amounts)
    figure = go.Figure()
    for position, kind in enumerate(rows):
        picks = [i for i, k in enumerate(kinds) if k == kind]
        colour = (REFUND_COLOUR if kind == "refund" else ORDER_COLOUR if kind in order_kinds
                  else COMPLAINT_COLOUR if kind in complaint_kinds else PALETTE[(position % (len(PALETTE) - 2)) + 2])
        figure.add_trace(go.Scatter(
            x=[dates[i] for i in picks], y=[kind_names.get(kind, kind)] * len(picks), mode="markers",
            name=kind_names.get(kind, kind), showlegend=False,
            marker={"size": [sizes[i] for i in picks] if kind in order_kinds else MIN_MARKER, "color": colour,
                    "opacity": 0.8, "line": {"width": 1, "color": "white"},
                    "symbol": "diamond" if kind in complaint_kinds else "circle"},
            hovertext=[hover[i] for i in picks], hovertemplate="%{hovertext}<extra></extra>",
        ))
    labels = [kind_names.get(kind, kind) for kind in rows]
    themed(figure, title, x_title, y_title, height=max(240, 90 + 42 * len(rows)))
    figure.update_yaxes(type="category", categoryorder="array", categoryarray=labels[::-1], showgrid=True)
    figure.update_xaxes(tickformat="%Y-%m")  # plotly's default ticks name months in English
    return figure


def monthly_spend(months: Sequence[date], revenue: Sequence[float], *, title: str, y_title: str,
                  hover: Sequence[str] | None = None, x_title: str | None = None,
                  money: Money | None = None) -> go.Figure:
    """Net spend per calendar month on a date axis (months without orders stay visible as gaps); ``money``
    writes the axis's amounts."""
    colours = [ORDER_COLOUR if value >= 0 else REFUND_COLOUR for value in revenue]
    figure = go.Figure(go.Bar(
        x=list(months), y=list(revenue), marker_color=colours, xperiod="M1", xperiodalignment="middle",
        hovertext=list(hover) if hover is not None else None,
        hovertemplate="%{hovertext}<extra></extra>" if hover is not None else None,
    ))
    themed(figure, title, x_title, y_title, height=300, money_axis="y", money=money)
    figure.update_xaxes(tickformat="%Y-%m")
    return figure
