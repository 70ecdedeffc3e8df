"""Figures of the Campaigns page: the contacted group's success rate against the control group's.

Pure and language-neutral like :mod:`crm_core.charts`: every text comes in as a parameter.
"""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from crm_core.charts import PALETTE, themed

GROUP_COLOURS = (PALETTE[0], "#999999")  # contacted: the house blue; control: grey


def rates(names: Sequence[str], values: Sequence[float | None], intervals: Sequence[tuple[float, float] | None], *,
          title: str, axis: str, height: int = 300) -> go.Figure:
    """One bar per group (``names``: contacted first, then control) at its rate, with its 95 % interval as an
    error bar (``intervals``, (low, high) of the rate)."""
    shown = [0.0 if v is None else float(v) for v in values]
    above = [0.0 if ci is None else max(0.0, ci[1] - v) for v, ci in zip(shown, intervals, strict=True)]
    below = [0.0 if ci is None else max(0.0, v - ci[0]) for v, ci in zip(shown, intervals, strict=True)]
    figure = go.Figure(go.Bar(
        x=list(names), y=shown, marker_color=list(GROUP_COLOURS[:len(names)]), width=0.5,
        error_y={"type": "data", "symmetric": False, "array": above, "arrayminus": below, "color": "#333"},
        text=[f"{v:.1%}" for v in shown], textposition="inside",
        hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
    themed(figure, title, None, axis, height=height)
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    figure.update_layout(showlegend=False)
    return figure
