"""Drawing sections of the Lifecycle & value page.

Each draws one view-model of :mod:`crm_core.views.lifecycle` in the session's language (translated labels
and cells, formatted numbers, figures of :mod:`crm_core.charts.lifecycle`). No analytics here.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal, TypedDict

import polars as pl
import streamlit as st

from crm_core.charts import lifecycle as lc_charts
from crm_core.clv import column_label
from crm_core.lifecycle import NOT_YET
from crm_core.views import lifecycle as core
from ui import base, shell, widgets
from ui.i18n import format_date, format_money, format_number, format_percent, money_column_format, money_formatter
from ui.state import lang, t


class _Neutral(TypedDict):
    border: bool
    delta_color: Literal["off"]
    delta_arrow: Literal["off"]


NEUTRAL: _Neutral = {"border": True, "delta_color": "off", "delta_arrow": "off"}  # a metric whose delta is a fact


# ---------------------------------------------------------------- words and numbers

def stage_name(key: str) -> str:
    return t(f"lifecycle.stage.{key}")


def column(name: str, time_unit: str = "W") -> str:
    label = column_label(name, time_unit)
    return t(label["key"], **label["params"])


def money(value: float | None, compact: bool = True) -> str:
    return format_money(value, lang(), shell.context().currency, compact=compact)


def money_format() -> str:
    """The printf format of the money columns of a table."""
    return money_column_format(lang(), shell.context().currency)


def money_axis():
    return money_formatter(lang(), shell.context().currency)


def number(value: float | int | None, decimals: int = 0) -> str:
    return format_number(value, lang(), decimals)


def percent(value: float | None, decimals: int = 1) -> str:
    return format_percent(value, lang(), decimals)


def day(value: date | datetime) -> str:
    return format_date(value, lang())


def in_days(days: int) -> str:
    return t("lifecycle.page.days", days=days)


def plain(value: float) -> int | float:
    """A window or factor as people write it: 57, not 57.0; 1.5, not 1.5000000001."""
    value = round(float(value), 2)
    return int(value) if value.is_integer() else value


def param(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def labelled(frame: pl.DataFrame, values: Mapping[str, Mapping[str, str]], time_unit: str = "W",
             strict: Sequence[str] = ()) -> pl.DataFrame:
    """``frame`` as a reader sees it: key cells and headers translated.

    The cells of the ``values`` columns are looked up there; keys without a label become null, except in the
    ``strict`` columns, where every key has one.
    """
    frame = frame.with_columns(
        pl.col(name).replace_strict(dict(labels), return_dtype=pl.String,
                                    **({} if name in strict else {"default": None}))
        for name, labels in values.items() if name in frame.columns)
    return frame.rename({name: column(name, time_unit) for name in frame.columns})


def stage_names(keys: Sequence[str] = core.STAGE_ORDER) -> dict[str, str]:
    return {key: stage_name(key) for key in keys}


# ---------------------------------------------------------------- stages

def stage_metrics(summary: core.StageSummary) -> None:
    """Customers (with the prospects), buying, at risk and lapsed, each a share of the buyers."""
    boxes = st.columns(4)
    boxes[0].metric(t("lifecycle.page.metric_customers"), number(summary.everyone), border=True,
                    delta=t("lifecycle.page.prospects_delta", prospects=number(summary.prospects))
                    if summary.has_customer_table else t("lifecycle.page.no_prospects_delta"),
                    delta_color="off", delta_arrow="off",
                    help=t("lifecycle.page.metric_customers_help", buyers=number(summary.buyers),
                           prospects=number(summary.prospects)))
    for box, group in zip(boxes[1:], summary.groups, strict=True):
        box.metric(t(f"lifecycle.page.metric_{group.name}"), number(group.customers), **NEUTRAL,
                   delta=t("lifecycle.page.share_of", share=percent(group.share_of_buyers),
                           base=number(summary.buyers)),
                   help=t(f"lifecycle.page.metric_{group.name}_help"))


def stage_charts(summary: core.StageSummary, amounts: bool) -> None:
    """Customers and revenue per stage, side by side (revenue only with amounts)."""
    rows = [row for row in summary.table.iter_rows(named=True) if row["present"]]
    labels = [stage_name(row["stage"]) for row in rows]
    colours = [lc_charts.STAGE_COLOURS[row["stage"]] for row in rows]
    counts, revenues = [row["customers"] for row in rows], [row["revenue"] for row in rows]
    hover = [t("lifecycle.page.stage_hover", stage=stage_name(row["stage"]), customers=number(row["customers"]),
               share=percent(row["share_of_customers"]), revenue=money(row["revenue"])) for row in rows]
    left, right = st.columns(2)
    left.plotly_chart(lc_charts.stage_bars(
        labels, counts, colours, title=t("lifecycle.page.stage_customers_title"), value_title=column("customers"),
        texts=[number(n) for n in counts], hover=hover), width="stretch", key="lc_stage_customers")
    if amounts:
        right.plotly_chart(lc_charts.stage_bars(
            labels, revenues, colours, title=t("lifecycle.page.stage_revenue_title"), value_title=column("revenue"),
            texts=[money(r) for r in revenues], hover=hover, money=money_axis()),
            width="stretch", key="lc_stage_revenue")
    else:
        base.needs_amounts(right)


def rule_table(summary: core.StageSummary, amounts: bool) -> None:
    """Every stage with its rule (in the order they are tried), customers and revenue."""
    st.subheader(t("lifecycle.page.rules_title"))
    rules, rows = summary.rules, list(summary.table.iter_rows(named=True))
    table = pl.DataFrame({  # a static table (st.table) so the rules wrap instead of being cut off
        "stage": [stage_name(row["stage"]) for row in rows],
        "rule": [t(rules[row["stage"]]["key"], **{k: plain(v) for k, v in rules[row["stage"]]["params"].items()})
                 for row in rows],
        "customers": [number(row["customers"]) for row in rows],
        "share_of_customers": [percent(row["share_of_customers"]) for row in rows],
        "revenue": [money(row["revenue"]) for row in rows],
        "share_of_revenue": [percent(row["share_of_revenue"]) for row in rows],
    })
    if not amounts:
        table = table.drop("revenue", "share_of_revenue")
    st.table(table.rename({name: t(f"lifecycle.page.rules_column.{name}") for name in table.columns}), hide_index=True)
    st.caption(t("lifecycle.precedence.note") + " " + t("lifecycle.page.revenue_note"))
    if not summary.has_customer_table:
        st.caption(t("lifecycle.page.no_customer_table"))


def customer_list(listing: core.CustomerList, stage: str, amounts: bool) -> None:
    """The customers of one stage, linked to their Customer 360 page, with downloads."""
    if amounts:
        st.caption(t("lifecycle.page.list_caption", customers=number(listing.customers), stage=stage_name(stage),
                     revenue=money(listing.revenue, compact=False)))
    else:
        st.caption(t("lifecycle.page.base.list_no_amounts", customers=number(listing.customers),
                     stage=stage_name(stage)))
    bases = {basis: t(f"lifecycle.basis.{basis}") for basis in ("own", "population")}
    shown = labelled(listing.table, {"stage": stage_names(), "gap_basis": bases}, strict=("stage",))
    linked, config = widgets.customer_links(shown, column("customer_id"), {
        column("revenue"): st.column_config.NumberColumn(format=money_format()),
        column("last_order_date"): st.column_config.DateColumn(format="YYYY-MM-DD"),
        column("first_order_date"): st.column_config.DateColumn(format="YYYY-MM-DD"),
        column("typical_gap_days"): st.column_config.NumberColumn(format="%.0f"),
        column("overdue_days"): st.column_config.NumberColumn(format="%.0f"),
    })
    st.dataframe(linked, hide_index=True, key="lc_list", column_config=config)
    widgets.downloads(shown, f"lifecycle_{stage}", "lc_list_dl", money=[column("revenue")])


# ---------------------------------------------------------------- flow

def flow(moves: core.StageFlow, start: date, as_of: datetime) -> None:
    """The flow KPIs, the Sankey of every move and the table of the changes."""
    a, b, c, d = st.columns(4)
    a.metric(t("lifecycle.page.metric_stayed"), percent(moves.stayed_share) if moves.stayed_share is not None else "–",
             border=True, help=t("lifecycle.page.metric_stayed_help", start=day(start)))
    b.metric(t("lifecycle.page.metric_newcomers"), number(moves.newcomers), border=True,
             help=t("lifecycle.page.metric_newcomers_help", start=day(start)))
    c.metric(t("lifecycle.page.metric_slipped"), number(moves.slipped), border=True,
             help=t("lifecycle.page.metric_slipped_help"))
    d.metric(t("lifecycle.page.metric_won_back"), number(moves.won_back), border=True,
             help=t("lifecycle.page.metric_won_back_help"))
    order = (NOT_YET, *core.STAGE_ORDER)
    names = stage_names(order)
    frame = moves.moves
    st.plotly_chart(lc_charts.stage_sankey(
        frame["stage_from"].to_list(), frame["stage_to"].to_list(), frame["customers"].to_list(), order,
        lc_charts.STAGE_COLOURS, names=names,
        title=t("lifecycle.page.flow_title", start=day(start), end=day(as_of)),
        hover=[t("lifecycle.page.flow_hover", source=names[f], target=names[to], customers=number(n), revenue=money(r))
               for f, to, n, r in frame.select("stage_from", "stage_to", "customers", "revenue").iter_rows()]),
        width="stretch", key="lc_sankey")
    st.subheader(t("lifecycle.page.moves_title"))
    st.dataframe(labelled(moves.changes, {"stage_from": names, "stage_to": names}, strict=("stage_from", "stage_to")),
                 hide_index=True, key="lc_moves",
                 column_config={column("customers"): st.column_config.NumberColumn(format="localized"),
                                column("revenue"): st.column_config.NumberColumn(format=money_format())})
    st.caption(t("lifecycle.page.moves_caption"))


# ---------------------------------------------------------------- cohorts

def cohort_heatmap(matrix: core.CohortMatrix, as_of: datetime) -> None:
    """The cohort matrix (numbers in the cells while they fit, * on periods not over yet) and its downloads."""
    revenue, shares = matrix.measure == "revenue", matrix.view == "percent"

    def cell_text(cell: Mapping[str, Any]) -> str:
        value = cell["value"]
        if value is None:
            shown = "–"
        elif shares:
            shown = f"{value:.0%}"
        else:
            shown = money(value) if revenue else number(value)
        mark = "*" if not cell["complete"] else ""
        return shown + mark if matrix.numbers_in_cells else mark

    def cell_hover(cohort: str, cell: Mapping[str, Any]) -> str:
        hover = t("lifecycle.page.cohort_hover", cohort=cohort, size=number(cell["cohort_size"]),
                  period=cell["period_start"], index=cell["period_index"], customers=number(cell["customers_active"]),
                  retention=percent(cell["customer_retention"]), revenue=money(cell["revenue"]),
                  revenue_retention=percent(cell["revenue_retention"]))
        return hover + ("<br>" + t("lifecycle.page.cohort_incomplete") if not cell["complete"] else "")

    text = [[cell_text(cell) if cell else "" for cell in row] for row in matrix.cells]
    hover = [[cell_hover(cohort, cell) if cell else "" for cell in row]
             for cohort, row in zip(matrix.cohorts, matrix.cells, strict=True)]
    shown = f"{matrix.measure}_{matrix.view}"
    st.plotly_chart(lc_charts.cohort_heatmap(
        [list(row) for row in matrix.z], text, hover, [list(row) for row in matrix.incomplete],
        [str(index) for index in matrix.periods], list(matrix.cohorts),
        title=t(f"lifecycle.page.cohort_title.{shown}"), x_title=t(f"lifecycle.page.cohort_x.{matrix.period}"),
        y_title=column("cohort"), colorbar_title=t(f"lifecycle.page.cohort_colour.{shown}"), percent=shares,
        money=money_axis() if revenue else None, zmax=matrix.zmax), width="stretch", key="lc_cohorts")
    st.caption(t("lifecycle.page.cohort_caption", as_of=day(as_of)))
    widgets.downloads(labelled(matrix.download, {}), f"cohorts_{matrix.period}", "lc_cohort_dl",
                      money=[column("revenue")])


# ---------------------------------------------------------------- predicted value

def notes(model: core.ValueModel) -> None:
    for note in model.notes:
        st.info(t(note["key"], **note["params"]), icon=":material/info:")


def degenerate(found: core.Degeneracy) -> None:
    """Why P(alive) is not shown: the data show no measurable drop-out, or a parameter ran to its bound."""
    st.warning(t(found.key, dropout=param(found.dropout), level=percent(found.sure_alive),
                 share=percent(found.sure_alive_share),
                 parameter=t(f"lifecycle.page.param.{found.parameter}") if found.parameter else ""),
               icon=":material/trending_flat:")


def value_metrics(model: core.ValueModel, horizon: int, discount_percent: float, amounts: bool) -> None:
    """Predicted value and orders over the horizon, customers likely still buying (not for a degenerate fit,
    whose P(alive) tells nobody apart), average value."""
    a, b, *rest = st.columns(4 if model.alive_views else 3)
    c, d = rest if model.alive_views else (None, rest[0])
    if amounts:
        a.metric(t("lifecycle.page.metric_value"), money(model.total_value),
                 delta=t("lifecycle.page.metric_value_delta", days=horizon), **NEUTRAL,
                 help=t("lifecycle.page.metric_value_help", days=horizon, rate=f"{discount_percent:g}%"))
    else:
        base.needs_amounts(a)
    b.metric(t("lifecycle.page.metric_orders"), number(model.total_orders),
             delta=t("lifecycle.page.metric_orders_delta", days=horizon), **NEUTRAL,
             help=t("lifecycle.page.metric_orders_help"))
    if c is not None:
        c.metric(t("lifecycle.page.metric_alive"), number(model.likely_active),
                 delta=t("lifecycle.page.share_of_repeaters", share=percent(model.likely_active_share),
                         base=number(model.repeaters)),
                 **NEUTRAL, help=t("lifecycle.page.metric_alive_help", repeaters=number(model.repeaters)))
    if amounts:
        d.metric(t("lifecycle.page.metric_average"), money(model.average_value, compact=False),
                 delta=t("lifecycle.page.metric_average_delta", customers=number(model.customer_count)), **NEUTRAL,
                 help=t("lifecycle.page.metric_average_help"))


def value_histogram(model: core.ValueModel, horizon: int) -> None:
    """How predicted value spreads over the customers, the top 1 % in one band."""
    st.plotly_chart(lc_charts.value_histogram(
        list(model.predicted_values), title=t("lifecycle.page.histogram_title", days=horizon),
        x_title=column(model.value_column), y_title=column("customers"),
        hover_template=t("lifecycle.page.histogram_hover"), cap=model.histogram_cap, money=money_axis()),
        width="stretch", key="lc_histogram")
    if model.histogram_cap is not None:
        st.caption(t("lifecycle.page.histogram_caption", cap=money(model.histogram_cap), above=number(model.above_cap)))


def top_customers(model: core.ValueModel, horizon: int, top_n: int) -> None:
    """The ``top_n`` customers by predicted value, linked, and every customer in the downloads."""
    st.subheader(t("lifecycle.page.top_title", n=top_n, days=horizon))
    assert model.result is not None and model.customers is not None, "drawn only for a model that ran (model.ok)"
    unit = model.result.time_unit
    ranked = labelled(model.customers, {"stage": stage_names(), "next_order_basis": {
        "own_rhythm": t("lifecycle.basis.own_rhythm"), "model": t("lifecycle.basis.model")}}, unit,
        strict=("next_order_basis",))
    value, average = column(model.value_column), column("expected_avg_order_value")
    alive = ({column("p_alive"): st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0)}
             if model.alive_views else {})
    linked, config = widgets.customer_links(ranked.head(top_n), column("customer_id", unit), {
        value: st.column_config.NumberColumn(format=money_format()),
        average: st.column_config.NumberColumn(format=money_format()),
        **alive,
        column(model.orders_column): st.column_config.NumberColumn(format="%.2f"),
        column("last_order_date"): st.column_config.DateColumn(format="YYYY-MM-DD"),
        column("expected_next_order_date"): st.column_config.DateColumn(format="YYYY-MM-DD"),
        column("days_overdue"): st.column_config.NumberColumn(format="%d"),
    })
    st.dataframe(linked, hide_index=True, key="lc_top", column_config=config)
    st.caption(t("lifecycle.page.top_caption" if model.alive_views else "lifecycle.page.top_caption_no_alive",
                 customers=number(model.customer_count)))
    widgets.downloads(ranked, f"customer_value_{horizon}d", "lc_value_dl", money=[value, average])


def alive_map(model: core.ValueModel) -> None:
    """P(alive) over days since the last purchase × repeat purchases, for a customer of median age."""
    alive = model.alive
    assert alive is not None, "drawn only for a model that ran and is not degenerate (model.alive_views)"
    hover = [[t("lifecycle.page.alive_hover", repeat=r, days=s, p=percent(p))
              for s, p in zip(alive.silent_days, row, strict=True)]
             for r, row in zip(alive.repeats, alive.p_alive, strict=True)]
    st.subheader(t("lifecycle.page.alive_title"))
    st.plotly_chart(lc_charts.alive_map(
        [list(row) for row in alive.p_alive], list(alive.silent_days), list(alive.repeats),
        title=t("lifecycle.page.alive_chart", age=alive.age_days), x_title=t("lifecycle.page.alive_x"),
        y_title=t("lifecycle.page.alive_y"), colorbar_title=t("lifecycle.page.alive_colour"),
        hover=hover, line_name=t("lifecycle.page.alive_line")), width="stretch", key="lc_alive")
    st.caption(t("lifecycle.page.alive_caption", age=alive.age_days))


# ---------------------------------------------------------------- model card

def parameter_table(rows: Sequence[tuple[str, float]]) -> pl.DataFrame:
    """Model-card rows ``(name, value)`` as parameter, value and meaning."""
    return pl.DataFrame({
        t("lifecycle.page.card_column.parameter"): [t(f"lifecycle.page.param.{name}") for name, _ in rows],
        t("lifecycle.page.card_column.value"): [param(value) for _, value in rows],
        t("lifecycle.page.card_column.meaning"): [t(f"lifecycle.page.param_help.{name}") for name, _ in rows],
    })


def model_card(model: core.ValueModel) -> None:
    """What was fitted, how fast, whether it converged, both models' parameters and who was left out."""
    result = model.result
    assert result is not None, "drawn only for a model that ran (model.ok)"
    betageo, gammagamma = result.betageo, result.gammagamma
    a, b, c, d = st.columns(4)
    a.metric(t("lifecycle.page.card_fitted"), number(betageo.n_customers_), border=True,
             help=t("lifecycle.page.card_fitted_help"))
    b.metric(t("lifecycle.page.card_spend_fitted"), number(gammagamma.n_customers_) if gammagamma else "–",
             border=True, help=t("lifecycle.page.card_spend_fitted_help"))
    c.metric(t("lifecycle.page.card_time"), t("lifecycle.page.seconds", value=f"{model.fit_seconds:.2f}"), border=True,
             help=t("lifecycle.page.card_time_help"))
    optimiser = t("lifecycle.page.converged") if betageo.converged_ else t("lifecycle.page.not_converged")
    status_help = t("lifecycle.page.card_status_help", penalizer=f"{betageo.penalizer:g}")
    if model.degenerate is not None:  # the optimiser may have converged, but to an edge that means nothing
        d.metric(t("lifecycle.page.card_status"), t("lifecycle.page.degenerate_status"), border=True,
                 delta=t("lifecycle.page.optimiser", state=optimiser), delta_color="off", delta_arrow="off",
                 help=t("lifecycle.page.degenerate_status_help") + " " + status_help)
        degenerate(model.degenerate)
    else:
        d.metric(t("lifecycle.page.card_status"), optimiser, border=True, help=status_help)
    notes(model)
    left, right = st.columns(2)
    with left:
        st.subheader(t("lifecycle.page.bgnbd_title"))
        st.table(parameter_table(model.bgnbd_params), hide_index=True)
        st.caption(t("lifecycle.page.bgnbd_caption", unit=t(f"lifecycle.page.unit.{result.time_unit}")))
    with right:
        st.subheader(t("lifecycle.page.gg_title"))
        if model.gammagamma_params is None:
            st.info(t("lifecycle.page.gg_skipped"))
        else:
            st.table(parameter_table(model.gammagamma_params), hide_index=True)
        if model.spend is not None:
            spend_check(model.spend)
        st.markdown(t("lifecycle.page.excluded_title"))
        st.markdown("\n".join(f"- {t(f'lifecycle.excluded.{reason}', count=number(count))}"
                              for reason, count in result.excluded.items()))


def spend_check(check: core.SpendCheck) -> None:
    """Gamma–Gamma's independence check: the correlation of frequency and spend, and what it says."""
    words = t(check.key, r="–" if math.isnan(check.correlation) else f"{check.correlation:+.2f}",
              customers=number(check.customers), limit=f"{check.limit:g}")
    if check.holds:
        st.caption(words)
    else:
        st.warning(words, icon=":material/link:")


def holdout(check: core.HoldoutCheck, as_of: datetime, holdout_days: int) -> None:
    """The verdict, the holdout numbers and predicted vs actual purchases by calibration frequency."""
    start, end = day(check.calibration_end), day(as_of)
    if not check.ok:
        st.warning(t("lifecycle.page.holdout_too_small", start=start, repeat=number(check.repeat_buyers),
                     minimum=check.minimum), icon=":material/query_stats:")
        return
    verdict, scores, groups = check.verdict, check.scores, check.groups
    assert verdict is not None and scores is not None and groups is not None, "set when the check ran (check.ok)"
    show = {"good": st.success, "rough": st.warning, "poor": st.error}[verdict.level]
    show(t(verdict.key, error=percent(verdict.error), good=percent(verdict.good, 0), rough=percent(verdict.rough, 0)))
    if check.degenerate is not None:
        st.warning(t("lifecycle.page.holdout_degenerate", start=start), icon=":material/trending_flat:")
    elif not check.converged:
        st.warning(t("lifecycle.page.holdout_not_converged", start=start), icon=":material/warning:")
    a, b, c, d = st.columns(4)
    a.metric(t("lifecycle.page.holdout_metric.predicted_total"), number(scores["predicted_total"]), border=True,
             help=t("lifecycle.metric.predicted_total"))
    b.metric(t("lifecycle.page.holdout_metric.actual_total"), number(scores["actual_total"]), border=True,
             help=t("lifecycle.metric.actual_total"))
    c.metric(t("lifecycle.page.holdout_metric.total_relative_error"), f"{scores['total_relative_error'] * 100:+.1f}%",
             border=True, help=t("lifecycle.page.total_error_help"))
    d.metric(t("lifecycle.page.holdout_metric.correlation"), f"{scores['correlation']:.2f}", border=True,
             help=t("lifecycle.metric.correlation") + ". " + t(
                 "lifecycle.page.metric_errors_help", mae=f"{scores['mae']:.2f}", rmse=f"{scores['rmse']:.2f}",
                 customers=number(scores["customers"])))
    labels = groups["label"].to_list()
    st.plotly_chart(lc_charts.holdout_chart(
        labels, groups["predicted_purchases_holdout"].to_list(), groups["actual_purchases_holdout"].to_list(),
        title=t("lifecycle.page.holdout_chart", start=start, end=end), x_title=column("frequency_cal"),
        y_title=t("lifecycle.page.holdout_y"), predicted_name=t("lifecycle.page.holdout_predicted"),
        actual_name=t("lifecycle.page.holdout_actual"),
        hover=[t("lifecycle.page.holdout_hover", group=label, customers=number(n))
               for label, n in zip(labels, groups["customers"].to_list(), strict=True)]),
        width="stretch", key="lc_holdout_chart")
    st.caption(t("lifecycle.page.holdout_caption", start=start, end=end, days=holdout_days))
