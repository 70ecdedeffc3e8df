"""Plotly figure builders with one theme, so every page looks alike.

Builders take plain data plus the texts to show (titles, axis labels, legend names) as parameters: the
core stays language-neutral and the page passes ``t(...)`` strings. Area-specific builders live in
modules beside this one (``charts/segmentation.py`` …) and use :func:`themed`.
"""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

# Colour-blind-safe categorical palette (Okabe–Ito, reordered so the first two contrast well).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999",
           "#332288", "#88CCEE", "#44AA99", "#117733"]
SEQUENTIAL = "Blues"
DIVERGING = "RdBu"
FONT = ("Noto Sans CJK SC, Noto Sans SC, PingFang SC, Microsoft YaHei, Source Han Sans SC, "
        "-apple-system, Segoe UI, Helvetica, Arial, sans-serif")


def themed(figure: go.Figure, title: str | None = None, x_title: str | None = None, y_title: str | None = None,
           height: int = 380, money_axis: str | None = None, currency: str = "¥") -> go.Figure:
    """Apply the house style: font stack with CJK, palette, compact margins, horizontal legend.

    ``money_axis`` ("x" or "y") formats that axis's ticks as currency.
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
    if money_axis == "y":
        figure.update_yaxes(tickprefix=currency, tickformat="~s")
    elif money_axis == "x":
        figure.update_xaxes(tickprefix=currency, tickformat="~s")
    return figure


def bar(labels: Sequence, values: Sequence[float], *, title: str, value_title: str, label_title: str | None = None,
        horizontal: bool = True, money: bool = False, hover_extra: Sequence[str] | None = None) -> go.Figure:
    """One series of bars (horizontal by default: long Chinese labels read better)."""
    if horizontal:
        trace = go.Bar(y=list(labels), x=list(values), orientation="h", marker_color=PALETTE[0],
                       hovertext=hover_extra, hovertemplate="%{y}: %{x:,.0f}<br>%{hovertext}<extra></extra>" if hover_extra else None)
        figure = go.Figure(trace)
        figure.update_yaxes(autorange="reversed")
        return themed(figure, title, value_title, label_title, money_axis="x" if money else None,
                      height=max(260, 40 + 28 * len(labels)))
    figure = go.Figure(go.Bar(x=list(labels), y=list(values), marker_color=PALETTE[0], hovertext=hover_extra))
    return themed(figure, title, label_title, value_title, money_axis="y" if money else None)


def stacked_bars(x: Sequence, series: dict[str, Sequence[float]], *, title: str, x_title: str | None, y_title: str,
                 money: bool = False) -> go.Figure:
    """Bars stacked per x, one trace per series name (legend shows the names). The x labels are shown as
    given: plotly would read labels like ``2024-01`` as dates and name the months in English."""
    figure = go.Figure([go.Bar(x=list(x), y=list(values), name=name) for name, values in series.items()])
    figure.update_layout(barmode="stack")
    figure.update_xaxes(type="category")
    return themed(figure, title, x_title, y_title, money_axis="y" if money else None)


def lines(x: Sequence, series: dict[str, Sequence[float]], *, title: str, x_title: str | None, y_title: str,
          money: bool = False, percent: bool = False) -> go.Figure:
    figure = go.Figure([go.Scatter(x=list(x), y=list(values), name=name, mode="lines+markers") for name, values in series.items()])
    themed(figure, title, x_title, y_title, money_axis="y" if money else None)
    if percent:
        figure.update_yaxes(tickformat=".0%")
    return figure


def heatmap(z: Sequence[Sequence[float | None]], x: Sequence, y: Sequence, *, title: str, x_title: str, y_title: str,
            colorbar_title: str, text: Sequence[Sequence[str]] | None = None, percent: bool = False,
            colorscale: str = SEQUENTIAL) -> go.Figure:
    """A labelled matrix; ``text`` (same shape as ``z``) is printed in the cells."""
    figure = go.Figure(go.Heatmap(
        z=z, x=list(x), y=list(y), colorscale=colorscale, text=text, texttemplate="%{text}" if text is not None else None,
        colorbar={"title": {"text": colorbar_title}, "tickformat": ".0%" if percent else None},
        hovertemplate=f"{y_title}: %{{y}}<br>{x_title}: %{{x}}<br>{colorbar_title}: %{{z:{'.1%' if percent else ',.0f'}}}<extra></extra>",
    ))
    return themed(figure, title, x_title, y_title, height=max(320, 60 + 26 * len(y)))


def treemap(labels: Sequence[str], values: Sequence[float], *, title: str, colors: Sequence[float] | None = None,
            color_title: str | None = None, hover_extra: Sequence[str] | None = None) -> go.Figure:
    figure = go.Figure(go.Treemap(
        labels=list(labels), parents=[""] * len(labels), values=list(values), branchvalues="total",
        marker={"colors": list(colors), "colorscale": SEQUENTIAL, "colorbar": {"title": {"text": color_title}}} if colors is not None else None,
        customdata=hover_extra, hovertemplate="%{label}<br>%{value:,}<br>%{customdata}<extra></extra>" if hover_extra else None,
        textinfo="label+value+percent root",
    ))
    return themed(figure, title, height=420)


def sankey(sources: Sequence[str], targets: Sequence[str], values: Sequence[float], *, title: str,
           left_suffix: str = " ", right_suffix: str = "  ") -> go.Figure:
    """Flows from left labels to right labels; suffixes keep a name on the left distinct from the same name on the right."""
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
