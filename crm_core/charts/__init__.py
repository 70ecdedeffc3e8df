"""Plotly figure builders with one theme, so every page looks alike.

Builders take plain data plus the texts to show (titles, axis labels, legend names) as parameters: the
core stays language-neutral and the page passes ``t(...)`` strings. Area-specific builders live in
modules beside this one (``charts/segmentation.py`` …) and use :func:`themed`.

Money axes come the same way: a builder takes ``money``, a :data:`Money` callable (value → text, the page
passes ``ui.i18n.money_formatter(lang, currency)``), and :func:`money_ticks` writes the tick labels with it.
Plotly's d3 tick formats know K/M/G only; computing the labels in Python gives Chinese axes 万/亿 as on
the cards, and every axis the currency of the data.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from numbers import Real
from typing import Any

import plotly.graph_objects as go

Money = Callable[[float], str]  # money value → tick or hover text ("¥2.5万", "NT$25K")

# Colour-blind-safe categorical palette (Okabe–Ito, reordered so the first two contrast well).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999",
           "#332288", "#88CCEE", "#44AA99", "#117733"]
SEQUENTIAL = "Blues"
DIVERGING = "RdBu"
FONT = ("Noto Sans CJK SC, Noto Sans SC, PingFang SC, Microsoft YaHei, Source Han Sans SC, "
        "-apple-system, Segoe UI, Helvetica, Arial, sans-serif")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10^k) from at or below ``low`` to at or above ``high``,
    about ``count`` intervals, one more step beyond each end (plotly hides ticks outside the range)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high < low:
        low, high = high, low
    if high == low:
        if high == 0:
            return [0.0]
        low, high = min(0.0, low), max(0.0, high)
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    first, last = math.floor(low / step + 1e-9) - 1, math.ceil(high / step - 1e-9) + 1
    return [round(i * step, 10) + 0.0 for i in range(first, last + 1)]


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten covering ``[low, high]`` (both > 0) for a log axis."""
    if not (low > 0 and high > 0 and math.isfinite(low) and math.isfinite(high)):
        return [1.0]
    return [10.0 ** k for k in range(math.floor(math.log10(min(low, high))), math.ceil(math.log10(max(low, high))) + 1)]


def money_ticks(values: Iterable[float | None], money: Money, *, log: bool = False, count: int = 5) -> dict[str, Any]:
    """Axis (or colour bar) settings whose tick labels ``money`` writes: ``{"tickmode": "array",
    "tickvals": [...], "ticktext": [...]}`` for the extent of ``values`` (and zero, where bars start)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if log:
        positive = [v for v in finite if v > 0]
        ticks = log_ticks(min(positive), max(positive)) if positive else [1.0]
    else:
        ticks = nice_ticks(min(finite + [0.0]), max(finite + [0.0]), count)
    return {"tickmode": "array", "tickvals": ticks, "ticktext": [money(v) for v in ticks]}


def _axis_values(figure: go.Figure, axis: str) -> list[float]:
    """Every value plotted on ``axis`` ("x" or "y"); stacked bars count as their per-category totals."""
    values: list[float] = []
    stacked: dict[Any, list[float]] = {}
    stack = figure.layout.barmode in ("stack", "relative")
    for trace in figure.data:
        points = getattr(trace, axis, None)
        if points is None:
            continue
        numbers = [float(v) for v in points if isinstance(v, Real) and not isinstance(v, bool)]
        if stack and trace.type == "bar":
            other = getattr(trace, "y" if axis == "x" else "x", None)
            other = range(len(numbers)) if other is None else other
            for key, value in zip(other, numbers):
                sums = stacked.setdefault(key, [0.0, 0.0])
                sums[value < 0] += value
        else:
            values.extend(numbers)
    for positive, negative in stacked.values():
        values.extend((positive, negative))
    return values


def themed(figure: go.Figure, title: str | None = None, x_title: str | None = None, y_title: str | None = None,
           height: int = 380, money_axis: str | None = None, money: Money | None = None) -> go.Figure:
    """Apply the house style: font stack with CJK, palette, compact margins, horizontal legend.

    ``money_axis`` ("x" or "y") is an axis of amounts: its tick labels are written by ``money`` (see
    :func:`money_ticks`), or compact SI numbers without a symbol when ``money`` is None (currency unknown).
    """
    figure.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}} if title else None,
        font={"family": FONT, "size": 13},
        colorway=PALETTE,
        height=height,
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1, "title": None},
        plot_bgcolor="white",
        hoverlabel={"font_family": FONT},
    )
    figure.update_xaxes(title_text=x_title, showgrid=False, zeroline=False, automargin=True)
    figure.update_yaxes(title_text=y_title, gridcolor="#eee", zeroline=False, automargin=True)
    if money_axis in ("x", "y"):
        update = figure.update_yaxes if money_axis == "y" else figure.update_xaxes
        update(**(money_ticks(_axis_values(figure, money_axis), money) if money is not None else {"tickformat": "~s"}))
    return figure


def money_texts(values: Iterable[float | None], money: Money | None) -> list[str] | None:
    """Hover texts of amounts written by ``money`` (None when there is no formatter)."""
    if money is None:
        return None
    return [money(v) if v is not None else "–" for v in values]


def bar(labels: Sequence, values: Sequence[float], *, title: str, value_title: str, label_title: str | None = None,
        horizontal: bool = True, money: Money | None = None, hover_extra: Sequence[str] | None = None) -> go.Figure:
    """One series of bars (horizontal by default: long Chinese labels read better); ``money``: the values are
    amounts, written by this formatter on the axis and in the hover."""
    amounts = money_texts(values, money)
    shown = "%{customdata}" if amounts else "%{x:,.0f}" if horizontal else "%{y:,.0f}"
    template = (("%{y}: " if horizontal else "%{x}: ") + shown + ("<br>%{hovertext}" if hover_extra else "")
                + "<extra></extra>") if hover_extra or amounts else None
    if horizontal:
        trace = go.Bar(y=list(labels), x=list(values), orientation="h", marker_color=PALETTE[0],
                       hovertext=hover_extra, customdata=amounts, hovertemplate=template)
        figure = go.Figure(trace)
        figure.update_yaxes(autorange="reversed")
        return themed(figure, title, value_title, label_title, money_axis="x" if money else None, money=money,
                      height=max(260, 40 + 28 * len(labels)))
    figure = go.Figure(go.Bar(x=list(labels), y=list(values), marker_color=PALETTE[0], hovertext=hover_extra,
                              customdata=amounts, hovertemplate=template))
    return themed(figure, title, label_title, value_title, money_axis="y" if money else None, money=money)


def _series_hover(name: str, amounts: list[str] | None) -> str | None:
    return f"%{{x}}<br>{name}: %{{customdata}}<extra></extra>" if amounts else None


def stacked_bars(x: Sequence, series: dict[str, Sequence[float]], *, title: str, x_title: str | None, y_title: str,
                 money: Money | None = None) -> go.Figure:
    """Bars stacked per x, one trace per series name (legend shows the names). The x labels are shown as
    given: plotly would read labels like ``2024-01`` as dates and name the months in English."""
    traces = []
    for name, values in series.items():
        amounts = money_texts(values, money)
        traces.append(go.Bar(x=list(x), y=list(values), name=name, customdata=amounts,
                             hovertemplate=_series_hover(name, amounts)))
    figure = go.Figure(traces)
    figure.update_layout(barmode="stack")
    figure.update_xaxes(type="category")
    return themed(figure, title, x_title, y_title, money_axis="y" if money else None, money=money)


def lines(x: Sequence, series: dict[str, Sequence[float]], *, title: str, x_title: str | None, y_title: str,
          money: Money | None = None, percent: bool = False) -> go.Figure:
    traces = []
    for name, values in series.items():
        amounts = money_texts(values, money)
        traces.append(go.Scatter(x=list(x), y=list(values), name=name, mode="lines+markers", customdata=amounts,
                                 hovertemplate=_series_hover(name, amounts)))
    figure = go.Figure(traces)
    themed(figure, title, x_title, y_title, money_axis="y" if money else None, money=money)
    if percent:
        figure.update_yaxes(tickformat=".0%")
    return figure


def heatmap(z: Sequence[Sequence[float | None]], x: Sequence, y: Sequence, *, title: str, x_title: str, y_title: str,
            colorbar_title: str, text: Sequence[Sequence[str]] | None = None, percent: bool = False,
            colorscale: str = SEQUENTIAL) -> go.Figure:
    """A labelled matrix; ``text`` (same shape as ``z``) is printed in the cells."""
    figure = go.Figure(go.Heatmap(
        z=z, x=list(x), y=list(y), colorscale=colorscale, text=text,
        texttemplate="%{text}" if text is not None else None,
        colorbar={"title": {"text": colorbar_title}, "tickformat": ".0%" if percent else None},
        hovertemplate=f"{y_title}: %{{y}}<br>{x_title}: %{{x}}<br>"
                      f"{colorbar_title}: %{{z:{'.1%' if percent else ',.0f'}}}<extra></extra>",
    ))
    return themed(figure, title, x_title, y_title, height=max(320, 60 + 26 * len(y)))


def treemap(labels: Sequence[str], values: Sequence[float], *, title: str, colors: Sequence[float] | None = None,
            color_title: str | None = None, hover_extra: Sequence[str] | None = None) -> go.Figure:
    figure = go.Figure(go.Treemap(
        labels=list(labels), parents=[""] * len(labels), values=list(values), branchvalues="total",
        marker=({"colors": list(colors), "colorscale": SEQUENTIAL, "colorbar": {"title": {"text": color_title}}}
                if colors is not None else None),
        customdata=hover_extra,
        hovertemplate="%{label}<br>%{value:,}<br>%{customdata}<extra></extra>" if hover_extra else None,
        textinfo="label+value+percent root",
    ))
    return themed(figure, title, height=420)


def sankey(sources: Sequence[str], targets: Sequence[str], values: Sequence[float], *, title: str,
           left_suffix: str = " ", right_suffix: str = "  ") -> go.Figure:
    """Flows from left labels to right labels; suffixes keep a name on the left distinct from the same name on
    the right."""
    left = [s + left_suffix for s in sources]
    right = [t + right_suffix for t in targets]
    nodes = list(dict.fromkeys(left)) + list(dict.fromkeys(right))
    index = {name: i for i, name in enumerate(nodes)}
    figure = go.Figure(go.Sankey(
        node={"label": [n.strip() for n in nodes], "pad": 12, "thickness": 14,
              "color": [PALETTE[i % len(PALETTE)] for i in range(len(nodes))]},
        link={"source": [index[s] for s in left], "target": [index[t] for t in right], "value": list(values)},
    ))
    return themed(figure, title, height=460)


def scatter(x: Sequence[float], y: Sequence[float], groups: Sequence[str], *, title: str, x_title: str, y_title: str,
            log_x: bool = False, log_y: bool = False, hover: Sequence[str] | None = None) -> go.Figure:
    """Points coloured by group (one trace per group so the legend names them)."""
    figure = go.Figure()
    xs, ys, gs = list(x), list(y), list(groups)
    hs = list(hover) if hover is not None else None
    for group in dict.fromkeys(gs):
        picks = [i for i, g in enumerate(gs) if g == group]
        figure.add_trace(go.Scattergl(
            x=[xs[i] for i in picks], y=[ys[i] for i in picks], mode="markers", name=str(group),
            marker={"size": 6, "opacity": 0.7}, text=[hs[i] for i in picks] if hs else None,
        ))
    themed(figure, title, x_title, y_title, height=460)
    if log_x:
        figure.update_xaxes(type="log")
    if log_y:
        figure.update_yaxes(type="log")
    return figure
