"""Lifecycle & value: lifecycle stages and their rules, stage flows, cohort retention, predicted customer value
(BG/NBD + Gamma–Gamma) and the model card with its holdout check.

Every number comes from ``crm_core.lifecycle`` and ``crm_core.clv`` on ``ctx.dataset`` (orders in the
sidebar's date range) as of ``ctx.as_of``; prospects come from the dataset's customer table.
"""
import math
import time
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import streamlit as st

from crm_core.charts import lifecycle as lc_charts
from crm_core.clv import TIME_UNIT_DAYS, column_label, holdout, holdout_by_frequency, holdout_metrics, predict
from crm_core.dataset import Dataset
from crm_core.features import customer_summary
from crm_core.lifecycle import NOT_YET, cohorts, stage_rules, stage_windows, stages, transitions
from ui import base, shell, widgets
from ui.cache import cached
from ui.i18n import format_date, format_money, format_number, format_percent, money_column_format, money_formatter
from ui.state import lang, t

shell.framed()

# Stages in the order a manager reads them: people buying now, then slipping away.
STAGE_ORDER = ("prospect", "new", "active", "reactivated", "at_risk", "dormant", "churned")
BUYING = ("new", "active", "reactivated")
LAPSED = ("dormant", "churned")
HORIZONS = [90, 180, 365]            # days of predicted value
HOLDOUTS = [90, 180, 365]            # days held out to check the purchase model
TOP_CHOICES = [20, 50, 100, 500]
PERIODS = ["month", "quarter"]       # cohort grains offered (crm_core.lifecycle.cohorts also knows "week")
MEASURES = ["customers", "revenue"]
VIEWS = ["percent", "count"]
FLOW_DAYS = 90                       # default "from" date: this many days before the analysis date
MAX_WINDOW_DAYS = 3650
MIN_REPEAT_BUYERS = 10               # fewer repeat buyers than this: no predictions are shown
HOLDOUT_GROUPS = 7                   # calibration frequency 0 … 7+, as lifetimes' plot
TRUST_GOOD, TRUST_ROUGH = 0.10, 0.25  # |error of the holdout total| for "close" and "rough" agreement
ALIVE_COLUMNS = 30                   # columns of the P(alive) map
ALIVE_MAX_REPEAT = 30                # rows of the P(alive) map at most (p99 of repeat purchases below that)
HISTOGRAM_CAP_QUANTILE = 0.99        # predicted values above this quantile share the last histogram band
TEXT_COLUMNS = 24                    # cohort cells carry their numbers up to this many periods


# ---------------------------------------------------------------- cached adapters

@cached
def buyers(dataset: Dataset, as_of: datetime):
    return customer_summary(dataset.transactions, as_of)


@cached
def derived_windows(dataset: Dataset, as_of: datetime):
    return stage_windows(dataset.transactions, as_of)


@cached
def staged(dataset: Dataset, as_of: datetime, windows: tuple, at_risk_factor: float):
    """``windows`` is ``tuple(sorted(dict.items()))`` of all five stage windows."""
    return stages(dataset.transactions, as_of, dataset.customers, at_risk_factor=at_risk_factor, **dict(windows))


@cached
def stage_customers(dataset: Dataset, as_of: datetime, windows: tuple, at_risk_factor: float):
    """Each customer's stage with net revenue (orders in the window before ``as_of``) and, when known, name."""
    revenue = buyers(dataset, as_of).select("customer_id", "revenue")
    people = (staged(dataset, as_of, windows, at_risk_factor).join(revenue, on="customer_id", how="left")
              .with_columns(pl.col("revenue").fill_null(0.0)))
    if dataset.has("customers", "name"):
        names = (dataset.customers.select(pl.col("customer_id").cast(pl.String), "name")
                 .unique("customer_id", keep="first"))
        people = people.join(names, on="customer_id", how="left")
    return people


@cached
def stage_totals(dataset: Dataset, as_of: datetime, windows: tuple, at_risk_factor: float):
    return stage_customers(dataset, as_of, windows, at_risk_factor).group_by("stage").agg(
        pl.len().cast(pl.Int64).alias("customers"), pl.col("revenue").sum())


@cached
def flows(dataset: Dataset, from_as_of: datetime, to_as_of: datetime, windows: tuple, at_risk_factor: float):
    return transitions(dataset.transactions, from_as_of, to_as_of, dataset.customers, at_risk_factor=at_risk_factor,
                       **dict(windows))


@cached
def cohort_table(dataset: Dataset, as_of: datetime, period: str):
    return cohorts(dataset.transactions, period, as_of)


@cached
def value_model(dataset: Dataset, as_of: datetime, horizon_days: int, monthly_discount: float):
    """``(CLVResult, seconds)``: the fit is timed here, so the time shown is the first computation's."""
    started = time.perf_counter()
    result = predict(dataset.transactions, as_of, horizon_days, monthly_discount,
                     min_repeat_customers=MIN_REPEAT_BUYERS)
    return result, time.perf_counter() - started


@cached
def value_table(dataset: Dataset, as_of: datetime, horizon_days: int, monthly_discount: float, windows: tuple,
                at_risk_factor: float):
    """Predictions per customer with stage and name, highest predicted value first."""
    result, _ = value_model(dataset, as_of, horizon_days, monthly_discount)
    people = stage_customers(dataset, as_of, windows, at_risk_factor).select(
        "customer_id", "stage", *(["name"] if dataset.has("customers", "name") else []))
    return (result.table.join(people, on="customer_id", how="left")
            .sort([f"predicted_value_{horizon_days}_days", "customer_id"], descending=[True, False]))


@cached
def holdout_check(dataset: Dataset, calibration_end: datetime, as_of: datetime, penalizer: float):
    """Calibration-vs-holdout groups, metrics and the number of repeat buyers in the calibration period."""
    table = holdout(dataset.transactions, calibration_end, as_of, penalizer=penalizer)
    return (holdout_by_frequency(table, HOLDOUT_GROUPS), holdout_metrics(table),
            int((table["frequency_cal"] > 0).sum()))


# ---------------------------------------------------------------- texts

ctx = shell.context()
language = lang()
money_axis = money_formatter(language, ctx.currency)
MONEY_FORMAT = money_column_format(language, ctx.currency)  # money columns of the tables


def stage_name(key: str) -> str:
    return t(f"lifecycle.stage.{key}")


def column(name: str, time_unit: str = "W") -> str:
    label = column_label(name, time_unit)
    return t(label["key"], **label["params"])


def money(value, compact: bool = True) -> str:
    return format_money(value, language, ctx.currency, compact=compact)


def number(value, decimals: int = 0) -> str:
    return format_number(value, language, decimals)


def in_days(days: int) -> str:
    return t("lifecycle.page.days", days=days)


def shown_as(options, label_of):
    """A widget's format_func as a lookup of labels made now: AppTest calls format functions after the run,
    where ``t`` no longer knows the session's language."""
    return {option: label_of(option) for option in options}.__getitem__


def share_delta(count: int, base: int) -> str:
    return t("lifecycle.page.share_of", share=format_percent(count / base if base else None, language),
             base=number(base))


def plain(value: float):
    """A window or factor as people write it: 57, not 57.0; 1.5, not 1.5000000001."""
    value = round(float(value), 2)
    return int(value) if value.is_integer() else value


def param(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def parameter_table(rows: list[tuple[str, float]]) -> pl.DataFrame:
    """Model-card rows ``(name, value)`` as parameter, value and meaning."""
    return pl.DataFrame({
        t("lifecycle.page.card_column.parameter"): [t(f"lifecycle.page.param.{name}") for name, _ in rows],
        t("lifecycle.page.card_column.value"): [param(value) for _, value in rows],
        t("lifecycle.page.card_column.meaning"): [t(f"lifecycle.page.param_help.{name}") for name, _ in rows],
    })


def day(value: datetime) -> datetime:
    return datetime.combine(value, datetime.min.time())


# ---------------------------------------------------------------- page

st.title(t("lifecycle.page.title"))
notices = st.container()  # link notices of this page's controls (they are claimed further down)
shell.require_orders(ctx)

known = buyers(ctx.dataset, ctx.as_of)
if known.height == 0:
    base.caption(ctx)  # says how many were left out for having only refunds
    st.info(t("lifecycle.page.no_customers", as_of=format_date(ctx.as_of, language)), icon=":material/event_busy:")
    with notices:
        shell.show_notices()
    st.stop()
st.caption(t("lifecycle.page.caption", customers=number(known.height), start=format_date(ctx.start, language),
             end=format_date(ctx.end, language), as_of=format_date(ctx.as_of, language)))

base_box = st.container()  # the customer base, filled once the stages are counted
amounts = base.amounts_notice(ctx.dataset)

tab_names = ["stages", "flow", "cohorts", "value", "model"]
tabs = dict(zip(tab_names, st.tabs([t(f"lifecycle.page.tab.{name}") for name in tab_names])))

# ---------------------------------------------------------------- stages
with tabs["stages"]:
    derived = derived_windows(ctx.dataset, ctx.as_of)
    controls = st.columns(4)
    chosen_days = {}
    for box, name, key in zip(controls, ("new_days", "dormant_days", "churned_days"),
                              ("lc_new", "lc_dormant", "lc_churned")):
        chosen_days[name] = widgets.number_input(
            t(f"lifecycle.page.window_label.{name}"), 0, MAX_WINDOW_DAYS, key, 0, step=1, container=box,
            help=t(f"lifecycle.window.{name}") + ". " + t("lifecycle.page.auto_help", value=plain(derived[name])))
    at_risk_factor = plain(widgets.number_input(
        t("lifecycle.page.window_label.at_risk_factor"), 1.0, 10.0, "lc_at_risk", 1.5, step=0.1, format="%.1f",
        container=controls[3], help=t("lifecycle.window.at_risk_factor") + ". " + t("lifecycle.page.at_risk_help")))
    windows = dict(derived)
    for name, value in chosen_days.items():
        if value:
            windows[name] = float(value)
    if chosen_days["new_days"]:
        # a come-back counts as recent for as long as a first order does
        windows["reactivated_days"] = float(chosen_days["new_days"])
    window_key = tuple(sorted(windows.items()))
    st.caption(t("lifecycle.page.windows_caption", **{name: plain(value) for name, value in derived.items()})
               + " " + t("lifecycle.window.derivation"))
    if windows["dormant_days"] >= windows["churned_days"]:
        st.warning(t("lifecycle.page.windows_clash", dormant=plain(windows["dormant_days"]),
                     churned=plain(windows["churned_days"])), icon=":material/warning:")

    totals = {row["stage"]: row
              for row in stage_totals(ctx.dataset, ctx.as_of, window_key, at_risk_factor).iter_rows(named=True)}
    present = [key for key in STAGE_ORDER if key in totals]
    everyone = sum(row["customers"] for row in totals.values())
    with_orders = everyone - (totals["prospect"]["customers"] if "prospect" in totals else 0)
    all_revenue = sum(row["revenue"] for row in totals.values())
    base.caption(ctx, analysed=everyone, why="lifecycle.page.base.stages", container=base_box,
                 buyers=number(with_orders), prospects=number(everyone - with_orders))

    def count_of(keys) -> int:
        return sum(totals[key]["customers"] for key in keys if key in totals)

    a, b, c, d = st.columns(4)
    a.metric(t("lifecycle.page.metric_customers"), number(everyone), border=True,
             delta=t("lifecycle.page.prospects_delta", prospects=number(everyone - with_orders))
             if ctx.dataset.customers is not None else t("lifecycle.page.no_prospects_delta"),
             delta_color="off", delta_arrow="off",
             help=t("lifecycle.page.metric_customers_help", buyers=number(with_orders),
                    prospects=number(everyone - with_orders)))
    for box, name, keys in ((b, "buying", BUYING), (c, "at_risk", ["at_risk"]), (d, "lapsed", LAPSED)):
        count = count_of(keys)
        box.metric(t(f"lifecycle.page.metric_{name}"), number(count), border=True,
                   delta=share_delta(count, with_orders), delta_color="off", delta_arrow="off",
                   help=t(f"lifecycle.page.metric_{name}_help"))

    labels = [stage_name(key) for key in present]
    colours = [lc_charts.STAGE_COLOURS[key] for key in present]
    counts = [totals[key]["customers"] for key in present]
    revenues = [totals[key]["revenue"] for key in present]
    hover = [t("lifecycle.page.stage_hover", stage=stage_name(key), customers=number(totals[key]["customers"]),
               share=format_percent(totals[key]["customers"] / everyone, language),
               revenue=money(totals[key]["revenue"]))
             for key in present]
    left, right = st.columns(2)
    left.plotly_chart(lc_charts.stage_bars(
        labels, counts, colours, title=t("lifecycle.page.stage_customers_title"), value_title=column("customers"),
        texts=[number(n) for n in counts], hover=hover), width="stretch", key="lc_stage_customers")
    if amounts:
        right.plotly_chart(lc_charts.stage_bars(
            labels, revenues, colours, title=t("lifecycle.page.stage_revenue_title"), value_title=column("revenue"),
            texts=[money(r) for r in revenues], hover=hover, money=money_axis), width="stretch", key="lc_stage_revenue")
    else:
        base.needs_amounts(right)

    st.subheader(t("lifecycle.page.rules_title"))
    rules = stage_rules(windows, at_risk_factor)
    counted = {key: totals.get(key, {"customers": 0, "revenue": 0.0}) for key in STAGE_ORDER}
    rule_rows = pl.DataFrame({  # a static table (st.table) so the rules wrap instead of being cut off
        "stage": [stage_name(key) for key in STAGE_ORDER],
        "rule": [t(rules[key]["key"], **{k: plain(v) for k, v in rules[key]["params"].items()}) for key in STAGE_ORDER],
        "customers": [number(counted[key]["customers"]) for key in STAGE_ORDER],
        "share_of_customers": [format_percent(counted[key]["customers"] / everyone, language) for key in STAGE_ORDER],
        "revenue": [money(counted[key]["revenue"]) for key in STAGE_ORDER],
        "share_of_revenue": [format_percent(counted[key]["revenue"] / all_revenue if all_revenue > 0 else None,
                                            language) for key in STAGE_ORDER],
    })
    if not amounts:
        rule_rows = rule_rows.drop("revenue", "share_of_revenue")
    st.table(rule_rows.rename({name: t(f"lifecycle.page.rules_column.{name}") for name in rule_rows.columns}),
             hide_index=True)
    st.caption(t("lifecycle.precedence.note") + " " + t("lifecycle.page.revenue_note"))
    if ctx.dataset.customers is None:
        st.caption(t("lifecycle.page.no_customer_table"))

    st.subheader(t("lifecycle.page.list_title"))
    pick = widgets.selectbox(t("lifecycle.page.list_pick"), present, "lc_stage", container=st.columns(3)[0],
                             default="at_risk" if "at_risk" in present else present[0],
                             format_func=shown_as(present, stage_name))
    listing = (stage_customers(ctx.dataset, ctx.as_of, window_key, at_risk_factor)
               .filter(pl.col("stage") == pick).sort(["revenue", "customer_id"], descending=[True, False]))
    if amounts:
        st.caption(t("lifecycle.page.list_caption", customers=number(listing.height), stage=stage_name(pick),
                     revenue=money(float(listing["revenue"].sum()), compact=False)))
    else:
        st.caption(t("lifecycle.page.base.list_no_amounts", customers=number(listing.height), stage=stage_name(pick)))
    list_columns = ["customer_id", *(["name"] if "name" in listing.columns else []), "stage", "last_order_date",
                    "days_since_last_order", "typical_gap_days", "gap_basis", "overdue_days", "purchase_days",
                    "first_order_date", "revenue"]
    if not amounts:
        list_columns.remove("revenue")
    shown = listing.select(list_columns).with_columns(
        pl.col("stage").replace_strict({key: stage_name(key) for key in STAGE_ORDER}, return_dtype=pl.String),
        pl.col("gap_basis").replace_strict({basis: t(f"lifecycle.basis.{basis}") for basis in ("own", "population")},
                                           default=None, return_dtype=pl.String),
    )
    shown = shown.rename({name: column(name) for name in shown.columns})
    linked, config = widgets.customer_links(shown, column("customer_id"), {
        column("revenue"): st.column_config.NumberColumn(format=MONEY_FORMAT),
        column("last_order_date"): st.column_config.DateColumn(format="YYYY-MM-DD"),
        column("first_order_date"): st.column_config.DateColumn(format="YYYY-MM-DD"),
        column("typical_gap_days"): st.column_config.NumberColumn(format="%.0f"),
        column("overdue_days"): st.column_config.NumberColumn(format="%.0f"),
    })
    st.dataframe(linked, hide_index=True, key="lc_list", column_config=config)
    widgets.downloads(shown, f"lifecycle_{pick}", "lc_list_dl", money=[column("revenue")])

# ---------------------------------------------------------------- flow between two dates
with tabs["flow"]:
    first_day = ctx.dataset.transactions["order_date"].min().date()
    lowest, highest = first_day + timedelta(days=1), ctx.as_of.date() - timedelta(days=1)
    if highest < lowest:
        st.info(t("lifecycle.page.flow_none"))
    else:
        default_from = min(max(ctx.as_of.date() - timedelta(days=FLOW_DAYS), lowest), highest)
        left, right = st.columns([1, 2])
        from_day = widgets.date_input(t("lifecycle.page.from_label"), "lc_from", default_from, lowest, highest,
                                      container=left, help=t("lifecycle.page.from_help"), follow_default=True)
        from_as_of = day(from_day)
        right.caption(t("lifecycle.page.flow_caption", start=format_date(from_as_of, language),
                        end=format_date(ctx.as_of, language), none=stage_name(NOT_YET)))
        moves = flows(ctx.dataset, from_as_of, ctx.as_of, window_key, at_risk_factor)
        earlier = moves.filter(pl.col("stage_from") != NOT_YET)
        stayed = int(earlier.filter(pl.col("stage_from") == pl.col("stage_to"))["customers"].sum())
        newcomers = int(moves.filter(pl.col("stage_from") == NOT_YET)["customers"].sum())
        slipped = int(moves.filter(pl.col("stage_from").is_in(BUYING) & pl.col("stage_to").is_in(["at_risk", *LAPSED]))
                      ["customers"].sum())
        won_back = int(moves.filter(pl.col("stage_from").is_in(["at_risk", *LAPSED]) & pl.col("stage_to").is_in(BUYING))
                       ["customers"].sum())
        a, b, c, d = st.columns(4)
        a.metric(t("lifecycle.page.metric_stayed"),
                 format_percent(stayed / earlier["customers"].sum(), language) if earlier.height else "–",
                 border=True,
                 help=t("lifecycle.page.metric_stayed_help", start=format_date(from_as_of, language)))
        b.metric(t("lifecycle.page.metric_newcomers"), number(newcomers), border=True,
                 help=t("lifecycle.page.metric_newcomers_help", start=format_date(from_as_of, language)))
        c.metric(t("lifecycle.page.metric_slipped"), number(slipped), border=True,
                 help=t("lifecycle.page.metric_slipped_help"))
        d.metric(t("lifecycle.page.metric_won_back"), number(won_back), border=True,
                 help=t("lifecycle.page.metric_won_back_help"))
        order = (NOT_YET, *STAGE_ORDER)
        names = {key: stage_name(key) for key in order}
        st.plotly_chart(lc_charts.stage_sankey(
            moves["stage_from"].to_list(), moves["stage_to"].to_list(), moves["customers"].to_list(), order,
            lc_charts.STAGE_COLOURS, names=names,
            title=t("lifecycle.page.flow_title", start=format_date(from_as_of, language),
                    end=format_date(ctx.as_of, language)),
            hover=[t("lifecycle.page.flow_hover", source=names[f], target=names[to], customers=number(n),
                     revenue=money(r))
                   for f, to, n, r in moves.select("stage_from", "stage_to", "customers", "revenue").iter_rows()]),
            width="stretch", key="lc_sankey")
        moved = moves.filter(pl.col("stage_from") != pl.col("stage_to")).sort(
            ["customers", "stage_from", "stage_to"], descending=[True, False, False])
        st.subheader(t("lifecycle.page.moves_title"))
        st.dataframe(
            moved.with_columns(pl.col("stage_from", "stage_to").replace_strict(names, return_dtype=pl.String))
            .rename({name: column(name) for name in moved.columns}),
            hide_index=True, key="lc_moves",
            column_config={column("customers"): st.column_config.NumberColumn(format="localized"),
                           column("revenue"): st.column_config.NumberColumn(format=MONEY_FORMAT)})
        st.caption(t("lifecycle.page.moves_caption"))

# ---------------------------------------------------------------- cohorts
with tabs["cohorts"]:
    a, b, c = st.columns(3)
    period = widgets.radio(t("lifecycle.page.period_label"), PERIODS, "lc_cohort_period", container=a,
                           format_func=shown_as(PERIODS, lambda p: t(f"lifecycle.page.period.{p}")))
    measure = widgets.radio(t("lifecycle.page.measure_label"), MEASURES if amounts else MEASURES[:1], "lc_cohort_measure",
                            container=b,
                            format_func=shown_as(MEASURES, lambda m: t(f"lifecycle.page.measure.{m}")))
    view = widgets.radio(t("lifecycle.page.view_label"), VIEWS, "lc_cohort_view", container=c,
                         format_func=shown_as(VIEWS, lambda v: t(f"lifecycle.page.view.{v}")))
    table = cohort_table(ctx.dataset, ctx.as_of, period)
    value_column = {("customers", "count"): "customers_active", ("customers", "percent"): "customer_retention",
                    ("revenue", "count"): "revenue", ("revenue", "percent"): "revenue_retention"}[(measure, view)]

    def period_label(start) -> str:
        return f"{start.year}-{start.month:02d}" if period == "month" else f"{start.year}-Q{(start.month - 1) // 3 + 1}"

    cohort_starts = sorted(set(table["cohort"].to_list()))
    periods = list(range(int(table["period_index"].max()) + 1)) if table.height else []
    cells = {(row["cohort"], row["period_index"]): row for row in table.iter_rows(named=True)}
    percent = view == "percent"

    def cell_text(row) -> str:
        value = row[value_column]
        if value is None:
            shown_value = "–"
        elif percent:
            shown_value = f"{value:.0%}"
        else:
            shown_value = money(value) if measure == "revenue" else number(value)
        mark = "*" if not row["complete"] else ""
        return shown_value + mark if len(periods) <= TEXT_COLUMNS else mark

    z, text, hover, incomplete = [], [], [], []
    for start in cohort_starts:
        rows = [cells.get((start, index)) for index in periods]
        z.append([row[value_column] if row else None for row in rows])
        text.append([cell_text(row) if row else "" for row in rows])
        incomplete.append([bool(row) and not row["complete"] for row in rows])
        hover.append([t("lifecycle.page.cohort_hover", cohort=period_label(start), size=number(row["cohort_size"]),
                        period=period_label(row["period_start"]), index=row["period_index"],
                        customers=number(row["customers_active"]),
                        retention=format_percent(row["customer_retention"], language), revenue=money(row["revenue"]),
                        revenue_retention=format_percent(row["revenue_retention"], language))
                      + ("<br>" + t("lifecycle.page.cohort_incomplete") if not row["complete"] else "")
                      if row else "" for row in rows])
    later = [v for row in z for v in row[1:] if v is not None]
    st.plotly_chart(lc_charts.cohort_heatmap(
        z, text, hover, incomplete, [str(index) for index in periods], [period_label(s) for s in cohort_starts],
        title=t(f"lifecycle.page.cohort_title.{measure}_{view}"), x_title=t(f"lifecycle.page.cohort_x.{period}"),
        y_title=column("cohort"), colorbar_title=t(f"lifecycle.page.cohort_colour.{measure}_{view}"), percent=percent,
        money=money_axis if measure == "revenue" else None, zmax=max(later) if later and max(later) > 0 else None),
        width="stretch", key="lc_cohorts")
    st.caption(t("lifecycle.page.cohort_caption", as_of=format_date(ctx.as_of, language)))
    cohort_download = table.with_columns(
        pl.col("cohort").map_elements(period_label, return_dtype=pl.String),
        pl.col("period_start").map_elements(period_label, return_dtype=pl.String),
    )
    widgets.downloads(cohort_download.rename({name: column(name) for name in cohort_download.columns}),
                      f"cohorts_{period}", "lc_cohort_dl", money=[column("revenue")])

# ---------------------------------------------------------------- value (CLV)
a, b, c = tabs["value"].columns(3)
horizon = widgets.selectbox(t("lifecycle.page.horizon_label"), HORIZONS, "lc_horizon", default=365, container=a,
                            format_func=shown_as(HORIZONS, in_days), help=t("lifecycle.page.horizon_help"))
discount_percent = widgets.number_input(t("lifecycle.page.discount_label"), 0.0, 10.0, "lc_discount", 1.0, step=0.1,
                                        format="%.1f", container=b, help=t("lifecycle.page.discount_help"))
top_n = widgets.selectbox(t("lifecycle.page.top_label"), TOP_CHOICES, "lc_top", default=50, container=c)
monthly_discount = round(discount_percent / 100, 4)
try:
    result, fit_seconds = value_model(ctx.dataset, ctx.as_of, horizon, monthly_discount)
except ValueError:
    result, fit_seconds = None, 0.0
repeat_buyers = int((result.table["frequency"] > 0).sum()) if result is not None else 0
model_ok = result is not None and repeat_buyers >= MIN_REPEAT_BUYERS
too_small = t("lifecycle.page.too_small", customers=number(known.height), repeat=number(repeat_buyers),
              minimum=MIN_REPEAT_BUYERS)
# the few-repeat-buyers note is what ``too_small`` says in full; the others are shown as they are
notes = [note for note in (result.notes if result is not None else ())
         if note["key"] != "lifecycle.note.few_repeat_buyers"]

with tabs["value"]:
    if not model_ok:
        st.warning(too_small, icon=":material/query_stats:")
    else:
        for note in notes:
            st.info(t(note["key"], **note["params"]), icon=":material/info:")
        values = value_table(ctx.dataset, ctx.as_of, horizon, monthly_discount, window_key, at_risk_factor)
        value_col, orders_col = f"predicted_value_{horizon}_days", f"expected_orders_next_{horizon}_days"
        repeaters = values.filter(pl.col("frequency") > 0)
        likely_active = int((repeaters["p_alive"] >= 0.5).sum())
        neutral = {"border": True, "delta_color": "off", "delta_arrow": "off"}
        a, b, c, d = st.columns(4)
        if amounts:
            a.metric(t("lifecycle.page.metric_value"), money(float(values[value_col].sum())),
                     delta=t("lifecycle.page.metric_value_delta", days=horizon), **neutral,
                     help=t("lifecycle.page.metric_value_help", days=horizon, rate=f"{discount_percent:g}%"))
        else:
            base.needs_amounts(a)
        b.metric(t("lifecycle.page.metric_orders"), number(float(values[orders_col].sum())),
                 delta=t("lifecycle.page.metric_orders_delta", days=horizon), **neutral,
                 help=t("lifecycle.page.metric_orders_help"))
        c.metric(t("lifecycle.page.metric_alive"), number(likely_active),
                 delta=t("lifecycle.page.share_of_repeaters",
                         share=format_percent(likely_active / repeaters.height, language),
                         base=number(repeaters.height)),
                 **neutral, help=t("lifecycle.page.metric_alive_help", repeaters=number(repeaters.height)))
        if amounts:
            d.metric(t("lifecycle.page.metric_average"), money(float(values[value_col].mean()), compact=False),
                     delta=t("lifecycle.page.metric_average_delta", customers=number(values.height)), **neutral,
                     help=t("lifecycle.page.metric_average_help"))

        if amounts:  # predicted value is money
            predicted = values[value_col]
            cap = float(predicted.quantile(HISTOGRAM_CAP_QUANTILE)) if predicted.len() > 20 else None
            st.plotly_chart(lc_charts.value_histogram(
                predicted.to_list(), title=t("lifecycle.page.histogram_title", days=horizon), x_title=column(value_col),
                y_title=column("customers"), hover_template=t("lifecycle.page.histogram_hover"), cap=cap, money=money_axis),
                width="stretch", key="lc_histogram")
            if cap is not None:
                st.caption(t("lifecycle.page.histogram_caption", cap=money(cap),
                             above=number(int((predicted > cap).sum()))))
        else:
            base.needs_amounts()

        st.subheader(t("lifecycle.page.top_title", n=top_n, days=horizon))
        top_columns = ["customer_id", *(["name"] if "name" in values.columns else []), "stage", value_col, "p_alive",
                       orders_col, "expected_avg_order_value", "last_order_date", "expected_next_order_date",
                       "days_overdue", "next_order_basis"]
        if not amounts:
            top_columns = [name for name in top_columns if name not in (value_col, "expected_avg_order_value")]
        ranked = values.select(top_columns).with_columns(
            pl.col("stage").replace_strict({key: stage_name(key) for key in STAGE_ORDER}, default=None,
                                           return_dtype=pl.String),
            pl.col("next_order_basis").replace_strict({"own_rhythm": t("lifecycle.basis.own_rhythm"),
                                                        "model": t("lifecycle.basis.model")}, return_dtype=pl.String),
        )
        ranked = ranked.rename({name: column(name, result.time_unit) for name in ranked.columns})
        linked, config = widgets.customer_links(ranked.head(top_n), column("customer_id", result.time_unit), {
            column(value_col): st.column_config.NumberColumn(format=MONEY_FORMAT),
            column("expected_avg_order_value"): st.column_config.NumberColumn(format=MONEY_FORMAT),
            column("p_alive"): st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
            column(orders_col): st.column_config.NumberColumn(format="%.2f"),
            column("last_order_date"): st.column_config.DateColumn(format="YYYY-MM-DD"),
            column("expected_next_order_date"): st.column_config.DateColumn(format="YYYY-MM-DD"),
            column("days_overdue"): st.column_config.NumberColumn(format="%d"),
        })
        st.dataframe(linked, hide_index=True, key="lc_top", column_config=config)
        st.caption(t("lifecycle.page.top_caption", customers=number(values.height)))
        widgets.downloads(ranked, f"customer_value_{horizon}d", "lc_value_dl",
                          money=[column(value_col), column("expected_avg_order_value")])

        # P(alive) over days since the last purchase × repeat purchases, for a customer of median age
        unit_days = TIME_UNIT_DAYS[result.time_unit]
        age_days = max(1, int(round(float(result.table["T"].median()) * unit_days)))
        most = int(min(max(float(result.table["frequency"].quantile(0.99)), 2), ALIVE_MAX_REPEAT))
        silent_days = np.arange(0, age_days + 1, max(1, math.ceil(age_days / ALIVE_COLUMNS)))
        repeats = np.arange(1, most + 1)
        alive = result.betageo.p_alive(repeats[:, None], (age_days - silent_days[None, :]) / unit_days,
                                       age_days / unit_days)
        alive_hover = [[t("lifecycle.page.alive_hover", repeat=int(r), days=int(s), p=format_percent(p, language))
                        for s, p in zip(silent_days, row)] for r, row in zip(repeats, alive)]
        st.subheader(t("lifecycle.page.alive_title"))
        st.plotly_chart(lc_charts.alive_map(
            alive.tolist(), silent_days.tolist(), repeats.tolist(), title=t("lifecycle.page.alive_chart", age=age_days),
            x_title=t("lifecycle.page.alive_x"), y_title=t("lifecycle.page.alive_y"),
            colorbar_title=t("lifecycle.page.alive_colour"),
            hover=alive_hover, line_name=t("lifecycle.page.alive_line")), width="stretch", key="lc_alive")
        st.caption(t("lifecycle.page.alive_caption", age=age_days))

# ---------------------------------------------------------------- model card and holdout
with tabs["model"]:
    if not model_ok:
        st.warning(too_small, icon=":material/query_stats:")
    else:
        betageo, gammagamma = result.betageo, result.gammagamma
        a, b, c, d = st.columns(4)
        a.metric(t("lifecycle.page.card_fitted"), number(betageo.n_customers_), border=True,
                 help=t("lifecycle.page.card_fitted_help"))
        b.metric(t("lifecycle.page.card_spend_fitted"), number(gammagamma.n_customers_) if gammagamma else "–",
                 border=True, help=t("lifecycle.page.card_spend_fitted_help"))
        c.metric(t("lifecycle.page.card_time"), t("lifecycle.page.seconds", value=f"{fit_seconds:.2f}"), border=True,
                 help=t("lifecycle.page.card_time_help"))
        d.metric(t("lifecycle.page.card_status"),
                 t("lifecycle.page.converged") if betageo.converged_ else t("lifecycle.page.not_converged"),
                 border=True, help=t("lifecycle.page.card_status_help", penalizer=f"{betageo.penalizer:g}"))
        for note in notes:
            st.info(t(note["key"], **note["params"]), icon=":material/info:")
        left, right = st.columns(2)
        with left:
            st.subheader(t("lifecycle.page.bgnbd_title"))
            p = betageo.params_
            bg_rows = [("r", p["r"]), ("alpha", p["alpha"]), ("a", p["a"]), ("b", p["b"]),
                       ("rate", p["r"] / p["alpha"]), ("dropout", p["a"] / (p["a"] + p["b"])),
                       ("log_likelihood", betageo.log_likelihood_)]
            st.table(parameter_table(bg_rows), hide_index=True)
            st.caption(t("lifecycle.page.bgnbd_caption", unit=t(f"lifecycle.page.unit.{result.time_unit}")))
        with right:
            st.subheader(t("lifecycle.page.gg_title"))
            if gammagamma is None:
                st.info(t("lifecycle.page.gg_skipped"))
            else:
                g = gammagamma.params_
                gg_rows = [("p", g["p"]), ("q", g["q"]), ("v", g["v"]),
                           ("mean_spend", gammagamma.population_mean_spend_),
                           ("log_likelihood", gammagamma.log_likelihood_)]
                st.table(parameter_table(gg_rows), hide_index=True)
            st.markdown(t("lifecycle.page.excluded_title"))
            st.markdown("\n".join(f"- {t(f'lifecycle.excluded.{reason}', count=number(count))}"
                                  for reason, count in result.excluded.items()))

        st.subheader(t("lifecycle.page.holdout_title"))
        holdout_days = widgets.selectbox(t("lifecycle.page.holdout_label"), HOLDOUTS, "lc_holdout", default=180,
                                         container=st.columns(3)[0],
                                         format_func=shown_as(HOLDOUTS, in_days), help=t("lifecycle.page.holdout_help"))
        calibration_end = ctx.as_of - timedelta(days=holdout_days)
        try:
            groups, scores, calibration_repeaters = holdout_check(ctx.dataset, calibration_end, ctx.as_of,
                                                                  betageo.penalizer)
        except ValueError:
            groups, scores, calibration_repeaters = None, None, 0
        if groups is None or calibration_repeaters < MIN_REPEAT_BUYERS:
            st.warning(t("lifecycle.page.holdout_too_small", start=format_date(calibration_end, language),
                         repeat=number(calibration_repeaters), minimum=MIN_REPEAT_BUYERS),
                       icon=":material/query_stats:")
        else:
            error = scores["total_relative_error"]
            verdict = ("good" if abs(error) <= TRUST_GOOD and scores["correlation"] >= 0.5
                       else "rough" if abs(error) <= TRUST_ROUGH else "poor")
            show = {"good": st.success, "rough": st.warning, "poor": st.error}[verdict]
            show(t(f"lifecycle.page.verdict.{verdict}", error=format_percent(abs(error), language),
                   good=format_percent(TRUST_GOOD, language, 0), rough=format_percent(TRUST_ROUGH, language, 0)))
            a, b, c, d = st.columns(4)
            a.metric(t("lifecycle.page.holdout_metric.predicted_total"), number(scores["predicted_total"]), border=True,
                     help=t("lifecycle.metric.predicted_total"))
            b.metric(t("lifecycle.page.holdout_metric.actual_total"), number(scores["actual_total"]), border=True,
                     help=t("lifecycle.metric.actual_total"))
            c.metric(t("lifecycle.page.holdout_metric.total_relative_error"), f"{error * 100:+.1f}%", border=True,
                     help=t("lifecycle.page.total_error_help"))
            d.metric(t("lifecycle.page.holdout_metric.correlation"), f"{scores['correlation']:.2f}", border=True,
                     help=t("lifecycle.metric.correlation") + ". " + t(
                         "lifecycle.page.metric_errors_help", mae=f"{scores['mae']:.2f}", rmse=f"{scores['rmse']:.2f}",
                         customers=number(scores["customers"])))
            group_labels = [str(f) if f < HOLDOUT_GROUPS else f"{f}+" for f in groups["frequency_cal"].to_list()]
            st.plotly_chart(lc_charts.holdout_chart(
                group_labels, groups["predicted_purchases_holdout"].to_list(),
                groups["actual_purchases_holdout"].to_list(),
                title=t("lifecycle.page.holdout_chart", start=format_date(calibration_end, language),
                        end=format_date(ctx.as_of, language)),
                x_title=column("frequency_cal"), y_title=t("lifecycle.page.holdout_y"),
                predicted_name=t("lifecycle.page.holdout_predicted"), actual_name=t("lifecycle.page.holdout_actual"),
                hover=[t("lifecycle.page.holdout_hover", group=label, customers=number(n))
                       for label, n in zip(group_labels, groups["customers"].to_list())]),
                width="stretch", key="lc_holdout_chart")
            st.caption(t("lifecycle.page.holdout_caption", start=format_date(calibration_end, language),
                         end=format_date(ctx.as_of, language), days=holdout_days))

with notices:
    shell.show_notices()
