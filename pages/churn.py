"""Churn risk: who is likely to stop buying in the next horizon, why, what to do, and how far to trust it.

Every number comes from ``crm_core.churn`` on ``ctx.dataset`` (orders in the sidebar's date range) as of
``ctx.as_of``: :func:`~crm_core.churn.sufficiency` (the data gate), :func:`~crm_core.churn.backtest` (the
model card), :func:`~crm_core.churn.train` + :func:`~crm_core.churn.score` (risk, reasons, flags, value at
risk), :func:`~crm_core.churn.capacity_curve` and :func:`~crm_core.churn.win_back_list` (the call list).
Segments come from :func:`crm_core.segmentation.rfm` (standard preset), names and regions from
:func:`crm_core.customers.profiles`.
"""
import inspect
import json
import math
from datetime import datetime

import polars as pl
import streamlit as st

from crm_core.charts import churn as churn_charts
from crm_core.churn import FLAGS, backtest, capacity_curve, flags, score, win_back_list
from crm_core.customers import profiles
from crm_core.dataset import Dataset
from crm_core.export import mask_contacts
from crm_core.features import customer_summary
from crm_core.segmentation import PRESETS, rfm
from ui import base, shell, widgets
from ui.analyses import churn_gate, churn_model
from ui.cache import cached
from ui.i18n import format_date, format_money, format_number, format_percent, money_column_format, money_formatter
from ui.state import lang, t

shell.framed()

HORIZONS = [30, 60, 90, 180]            # days ahead the risk is about
TIERS = ("high", "medium", "low")       # crm_core.churn.RISK_TIERS, riskiest first
RISK_THRESHOLDS = (0.33, 0.66)          # Klaviyo's bands on the calibrated probability
RULE_HIGH_FLAGS = 2                     # rules mode: this many warning flags make a customer "high"
DEFAULT_CAPACITY = 200                  # "we can call 200 customers"
DEFAULT_SAVE_RATE = 20                  # percent of contacted customers at risk that a win-back keeps
TOP_FEATURES = 12                       # bars in the importance chart
ROW_PIXELS = 35                         # st.dataframe row height: group tables show every row
LIST_PIXELS, CALLS_PIXELS = 460, 360    # at most this tall: the at-risk list and the call list scroll
CURVE_POINTS = 400                      # points of the capacity chart (the curve has one per customer)
PROFILE_COLUMNS = ("name", "region", "owner", "phone")
SEGMENT_PRESET = "standard"
BASELINES = ("recency", "bgnbd_horizon", "bgnbd")    # backtest prefixes: baseline_*, bgnbd_horizon_*, bgnbd_*
METRICS = ("auc", "pr_auc", "top_decile_lift", "brier")
FLAG_DEFAULTS = {name: parameter.default for name, parameter in inspect.signature(flags).parameters.items()
                 if parameter.kind is parameter.KEYWORD_ONLY}
# Flags that read the interactions table (and the column they need beyond ``type``).
FLAG_NEEDS = {"fewer_contacts": None, "complaints": None, "campaigns_ignored": "outcome",
              "low_satisfaction": "satisfaction"}


# ---------------------------------------------------------------- cached adapters

@cached
def evaluation(dataset: Dataset, as_of: datetime, horizon_days: int):
    """The backtest without its model (the page scores with the model trained up to the analysis date)."""
    result = backtest(dataset.transactions, as_of, horizon_days, dataset.customers, dataset.interactions)
    result.pop("model", None)
    return result


@cached
def risk(dataset: Dataset, as_of: datetime, horizon_days: int):
    """Scores as of the analysis date: by the model when the gate passes, else by the warning rules."""
    return score(dataset, as_of, horizon_days, model=churn_model(dataset, as_of, horizon_days), risk_thresholds=RISK_THRESHOLDS,
                 rule_high_flags=RULE_HIGH_FLAGS)


@cached
def customer_view(dataset: Dataset, as_of: datetime, horizon_days: int):
    """Scores with the customer's RFM segment and, when known, name, region, owner and (masked) phone."""
    segments = rfm(customer_summary(dataset.transactions, as_of), preset=SEGMENT_PRESET).select("customer_id", "segment")
    people = profiles(dataset, as_of)
    people = mask_contacts(people.select("customer_id", *[c for c in PROFILE_COLUMNS if c in people.columns]))
    return (risk(dataset, as_of, horizon_days).join(segments, on="customer_id", how="left")
            .join(people, on="customer_id", how="left", maintain_order="left"))


@cached
def risk_by(dataset: Dataset, as_of: datetime, horizon_days: int, column: str):
    """Customers per risk tier and value at risk for each value of ``column`` (segment or region)."""
    return customer_view(dataset, as_of, horizon_days).group_by(column).agg(
        pl.len().alias("customers"),
        *[(pl.col("risk_tier") == tier).sum().alias(tier) for tier in TIERS],
        pl.col("churn_probability").mean().alias("mean_probability"),
        pl.col("value_at_risk").sum().alias("value_at_risk"),
        pl.col("flag_count").mean().alias("mean_flags"),
    ).sort(["customers", column], descending=[True, False], nulls_last=True)


@cached
def curve(dataset: Dataset, as_of: datetime, horizon_days: int, capacity: int, save_rate: float):
    return capacity_curve(risk(dataset, as_of, horizon_days), capacity, save_rate)


# ---------------------------------------------------------------- texts

ctx = shell.context()
language = lang()
money_axis = money_formatter(language, ctx.currency)
MONEY_FORMAT = money_column_format(language, ctx.currency)  # money columns of the tables


def money(value, compact: bool = False) -> str:
    return format_money(value, language, ctx.currency, compact=compact)


def number(value, decimals: int = 0) -> str:
    return format_number(value, language, decimals)


def percent(value) -> str:
    return format_percent(value, language)


def shown_as(options, label_of):
    """A widget's format_func as a lookup of labels made now: AppTest calls format functions after the run,
    where ``t`` no longer knows the session's language."""
    return {option: label_of(option) for option in options}.__getitem__


def tier_name(key: str | None) -> str:
    return t(f"churn.tier.{key}") if key else "–"


def column(name: str) -> str:
    return t(f"churn.column.{name}")


def metric_value(name: str, value) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.2f}" if name == "top_decile_lift" else f"{value:.3f}"


def reason_texts(raw: str | None, with_model: bool, limit: int = 3) -> str:
    """The customer's top reasons as sentences in the UI language (or why there is none)."""
    reasons = json.loads(raw) if raw else []
    if not reasons:
        return t("churn.page.no_reason" if with_model else "churn.page.no_flag")
    return t("churn.page.reason_sep").join(t(reason["key"], **(reason.get("params") or {})) for reason in reasons[:limit])


def readable(frame: pl.DataFrame, with_model: bool) -> pl.DataFrame:
    """The at-risk list as a manager reads it: sentences, translated labels and headers (phone already masked)."""
    flag_names = {name: t(f"churn.flag.{name}") for name in FLAGS}
    reasons = {raw: reason_texts(raw, with_model) for raw in frame["reasons"].unique().to_list()}
    actions = {key: t(key) for key in frame["action"].drop_nulls().unique().to_list()}
    fired = pl.concat_list(pl.when(pl.col(f"flag_{name}")).then(pl.lit(flag_names[name])) for name in FLAGS)
    frame = frame.with_columns(fired.list.drop_nulls().list.join(t("churn.page.list_sep")).alias("flags"))
    profile = [c for c in PROFILE_COLUMNS if c in frame.columns]
    shown = frame.select(  # who, how risky, why, what to do; then whom to ask and how to reach them
        "customer_id", *[c for c in ("name",) if c in profile],
        pl.col("risk_tier").replace_strict({tier: tier_name(tier) for tier in TIERS}, default=None,
                                           return_dtype=pl.String),
        *(["churn_probability", "value_at_risk"] if with_model else ["flag_count", "flags"]),
        pl.col("reasons").replace_strict(reasons, default="", return_dtype=pl.String),
        pl.col("action").replace_strict(actions, default=None, return_dtype=pl.String),
        *(["flags"] if with_model else []),
        *[c for c in ("owner", "phone", "region") if c in profile],
        "expected_value", pl.col("recency_days").cast(pl.Int64), pl.col("frequency").cast(pl.Int64),
    )
    return shown.rename({name: column(name) for name in shown.columns})


def list_columns(with_model: bool) -> dict:
    return {
        column("customer_id"): st.column_config.TextColumn(pinned=True),
        column("risk_tier"): st.column_config.TextColumn(width="small"),
        column("churn_probability"): st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0,
                                                                     width="small"),
        column("value_at_risk"): st.column_config.NumberColumn(format=MONEY_FORMAT, help=t("churn.page.value_at_risk_help")),
        column("expected_value"): st.column_config.NumberColumn(format=MONEY_FORMAT, help=value_help),
        column("flag_count"): st.column_config.NumberColumn(format="%d", width="small"),
        column("reasons"): st.column_config.TextColumn(width="large", help=t("churn.page.reasons_help")),
        column("flags"): st.column_config.TextColumn(width="medium", help=t("churn.page.flags_help")),
        column("action"): st.column_config.TextColumn(width="medium"),
        column("recency_days"): st.column_config.NumberColumn(format="%d", width="small"),
        column("frequency"): st.column_config.NumberColumn(format="%d", width="small"),
    }


# ---------------------------------------------------------------- page

st.title(t("churn.page.title"))
notices = st.container()  # link notices of this page's controls (they are claimed further down)
shell.require_orders(ctx)

controls = st.columns([2, 3])
horizon = widgets.radio(t("churn.page.horizon"), HORIZONS, "ch_horizon", default=90, container=controls[0],
                        format_func=shown_as(HORIZONS, lambda days: t("churn.page.days", days=days)),
                        help=t("churn.page.horizon_help"))
controls[1].caption(t("churn.page.caption", days=horizon, as_of=format_date(ctx.as_of, language)))
if not ctx.dataset.has("interactions"):
    st.caption(":material/info: " + t("churn.page.no_interactions"))

checked = churn_gate(ctx.dataset, ctx.as_of, horizon)
with st.spinner(t("churn.page.training") if checked.ok else t("churn.page.scoring"), show_time=True):
    view = customer_view(ctx.dataset, ctx.as_of, horizon)
    model = churn_model(ctx.dataset, ctx.as_of, horizon)

if view.height == 0:
    base.caption(ctx)  # says how many were left out for having only refunds
    st.info(t("churn.page.no_customers", as_of=format_date(ctx.as_of, language)), icon=":material/event_busy:")
    with notices:
        shell.show_notices()
    st.stop()

with_model = model is not None
base.caption(ctx, analysed=model.n_eligible if with_model else None, why="churn.page.base.training",
             cutoff=format_date(model.cutoff, language) if with_model else "", days=horizon)
amounts = base.amounts_notice(ctx.dataset)
value_source = view["value_source"].drop_nulls().first() if view["value_source"].null_count() < view.height else None
value_help = t("churn.page.expected_value_help", source=t(f"churn.value_source.{value_source}") if value_source else "–")
tier_help = (t("churn.tier.help", low=RISK_THRESHOLDS[0], high=RISK_THRESHOLDS[1]) if with_model
             else t("churn.tier.help_rules", flags=RULE_HIGH_FLAGS))

if not checked.ok:
    st.warning(t("churn.sufficiency.failed"), icon=":material/rule:")
    lines = []
    for check in checked.checks:
        text = t(check.key, actual=check.actual, required=check.required)
        if check.ok:
            lines.append(f"- :green[:material/check:] {text}")
        else:
            hint = t(check.key.replace("churn.sufficiency.", "churn.sufficiency_hint."))
            lines.append(f"- :red[:material/close:] **{text}** — {hint}")
    st.markdown("\n".join(lines))
    enough = [days for days in HORIZONS if days != horizon and churn_gate(ctx.dataset, ctx.as_of, days).ok]
    if enough:
        st.caption(t("churn.page.other_horizons", horizons=t("churn.page.list_sep").join(
            t("churn.page.days", days=days) for days in enough)))
    st.caption(t("churn.page.rules_mode", flags=RULE_HIGH_FLAGS))

# headline figures
everyone = view.height
counts = dict(view.group_by("risk_tier").len().iter_rows())
a, b, c, d = st.columns(4)
a.metric(t("churn.page.metric.customers"), number(everyone), border=True, help=t("churn.page.metric.customers_help"),
         delta=t("churn.page.metric.customers_delta", as_of=format_date(ctx.as_of, language)), delta_color="off",
         delta_arrow="off")
b.metric(t("churn.page.metric.high"), number(counts.get("high", 0)), border=True,
         delta=t("churn.page.share_of_customers", share=percent(counts.get("high", 0) / everyone)),
         delta_color="off", delta_arrow="off", help=tier_help)
if with_model:
    expected = view["expected_value"].sum()
    if amounts:
        c.metric(t("churn.page.metric.value_at_risk"), money(view["value_at_risk"].sum(), compact=True), border=True,
                 delta=t("churn.page.metric.value_delta", share=percent(view["value_at_risk"].sum() / expected
                                                                          if expected > 0 else None)),
                 delta_color="off", delta_arrow="off", help=t("churn.page.value_at_risk_help") + " " + value_help)
    else:
        base.needs_amounts(c)
    auc_slot = d.empty()  # filled once the backtest (computed last, after the rest has painted) is in
    auc_slot.metric(t("churn.page.metric.auc"), "…", border=True, help=t("churn.page.metric.auc_help"))
else:
    flagged = int((view["flag_count"] > 0).sum())
    c.metric(t("churn.page.metric.flagged"), number(flagged), border=True,
             delta=t("churn.page.share_of_customers", share=percent(flagged / everyone)),
             delta_color="off", delta_arrow="off", help=t("churn.page.flags_help"))
    d.metric(t("churn.column.risk_source"), t("churn.page.metric.rules_value"), border=True, help=tier_help,
             delta=t("churn.page.metric.rules_delta"), delta_color="off", delta_arrow="off")

tab_names = ["list", "model", "breakdown", "capacity"]
tabs = dict(zip(tab_names, st.tabs([t(f"churn.page.tab.{name}") for name in tab_names])))

# ---------------------------------------------------------------- at-risk list
with tabs["list"]:
    chosen = widgets.multiselect(t("churn.page.tier_filter"), list(TIERS), "ch_tier", container=st.columns([2, 3])[0],
                                 format_func=shown_as(TIERS, tier_name), help=tier_help)
    listing = view.filter(pl.col("risk_tier").is_in(chosen)) if chosen else view
    if listing.height == 0:
        st.info(t("churn.page.empty_filter"), icon=":material/filter_alt_off:")
    else:
        if with_model and not amounts:
            st.caption(t("churn.page.base.list_no_amounts", customers=number(listing.height)))
        elif with_model:
            st.caption(t("churn.page.list_caption", customers=number(listing.height),
                         value=money(listing["value_at_risk"].sum())))
        else:
            st.caption(t("churn.page.list_caption_rules", customers=number(listing.height)))
        shown = readable(listing, with_model)
        linked, config = widgets.customer_links(shown, column("customer_id"), list_columns(with_model))
        st.dataframe(linked, hide_index=True, column_config=config, key="ch_list",
                     height=min(LIST_PIXELS, ROW_PIXELS * (shown.height + 1) + 3))
        widgets.downloads(shown, "churn_risk", "ch_list_dl", container=st.columns([2, 3])[0],
                          money=[column("value_at_risk"), column("expected_value")])
        st.caption(t("churn.page.list_note") + (" " + t("churn.page.masked") if "phone" in listing.columns else ""))

# ---------------------------------------------------------------- breakdown
tier_colours = {tier_name(tier): churn_charts.TIER_COLOURS[tier] for tier in TIERS}


def breakdown(by: str, labels: dict, title: str, first_header: str, order: list | None = None) -> None:
    table = risk_by(ctx.dataset, ctx.as_of, horizon, by)
    if order is not None:
        position = {key: i for i, key in enumerate(order)}
        table = table.sort(pl.col(by).replace_strict(position, default=len(order), return_dtype=pl.Int64))
    names = [labels.get(key, key) if key is not None else t("churn.page.unknown") for key in table[by].to_list()]
    totals = table["customers"].to_list()
    shares = {tier_name(tier): [n / total for n, total in zip(table[tier].to_list(), totals)] for tier in TIERS}
    hover = {tier_name(tier): [t("churn.page.tier_hover", group=name, tier=tier_name(tier), customers=number(n),
                                 share=percent(n / total), total=number(total))
                               for name, n, total in zip(names, table[tier].to_list(), totals)] for tier in TIERS}
    st.plotly_chart(churn_charts.tier_share_bars(names, shares, tier_colours, title=title,
                                                 value_title=t("churn.page.share_of_group"), hover=hover),
                    width="stretch", key=f"ch_by_{by}")
    shown = pl.DataFrame({
        first_header: names,
        t("churn.page.by_column.customers"): totals,
        t("churn.page.by_column.high"): table["high"].to_list(),
        t("churn.page.by_column.high_share"): [n / total for n, total in zip(table["high"].to_list(), totals)],
        **({t("churn.page.by_column.mean_probability"): table["mean_probability"].to_list(),
            column("value_at_risk"): table["value_at_risk"].to_list()} if with_model
           else {t("churn.page.by_column.mean_flags"): table["mean_flags"].to_list()}),
    })
    st.dataframe(shown, hide_index=True, key=f"ch_by_{by}_table", height=ROW_PIXELS * (shown.height + 1) + 3,
                 column_config={
        t("churn.page.by_column.customers"): st.column_config.NumberColumn(format="localized"),
        t("churn.page.by_column.high"): st.column_config.NumberColumn(format="localized"),
        t("churn.page.by_column.high_share"): st.column_config.ProgressColumn(format="percent", min_value=0.0,
                                                                              max_value=1.0),
        t("churn.page.by_column.mean_probability"): st.column_config.NumberColumn(format="percent"),
        column("value_at_risk"): st.column_config.NumberColumn(format=MONEY_FORMAT),
        t("churn.page.by_column.mean_flags"): st.column_config.NumberColumn(format="%.2f"),
    })


with tabs["breakdown"]:
    st.subheader(t("churn.page.by_segment"))
    segment_keys = list(PRESETS[SEGMENT_PRESET].segments)
    breakdown("segment", {key: t(f"segmentation.segment.{key}") for key in segment_keys},
              t("churn.page.by_segment_chart"), t("churn.page.by_column.segment"), order=segment_keys)
    st.caption(t("churn.page.segment_note"))

    st.subheader(t("churn.page.by_region"))
    if "region" in view.columns:
        breakdown("region", {}, t("churn.page.by_region_chart"), column("region"))
    else:
        st.info(t("churn.page.no_region"), icon=":material/public_off:")

    st.subheader(t("churn.page.flags_title"))
    flag_counts = view.select(pl.col(f"flag_{name}").sum().alias(name) for name in FLAGS).row(0, named=True)
    help_params = {
        "frequency_drop": {"min_prev_orders": FLAG_DEFAULTS["min_prev_orders"], "share": FLAG_DEFAULTS["frequency_drop"]},
        "basket_shrink": {"share": FLAG_DEFAULTS["basket_drop"]},
        "fewer_contacts": {"min_prev_contacts": FLAG_DEFAULTS["min_prev_contacts"], "share": FLAG_DEFAULTS["contact_drop"]},
        "complaints": {"count": FLAG_DEFAULTS["min_complaints"]},
        "campaigns_ignored": {"count": FLAG_DEFAULTS["min_ignored_campaigns"]},
        "low_satisfaction": {"score": FLAG_DEFAULTS["low_satisfaction"]},
        "overdue": {"ratio": FLAG_DEFAULTS["overdue_ratio"]},
    }

    def flag_data(name: str) -> str:
        """Whether the data can raise this flag at all (``ok``), or what it lacks."""
        if name not in FLAG_NEEDS:
            return "ok"
        if not ctx.dataset.has("interactions"):
            return "needs_interactions"
        needed = FLAG_NEEDS[name]
        return "ok" if needed is None or ctx.dataset.has("interactions", needed) else f"needs_{needed}"

    flag_labels = [t(f"churn.flag.{name}") for name in FLAGS]
    flag_numbers = [flag_counts[name] for name in FLAGS]
    st.plotly_chart(churn_charts.flag_bars(
        flag_labels, flag_numbers, [number(n) for n in flag_numbers], title=t("churn.page.flags_chart"),
        value_title=t("churn.page.by_column.customers"),
        hover=[t("churn.page.flag_hover", flag=label, customers=number(n), share=percent(n / everyone))
               for label, n in zip(flag_labels, flag_numbers)]), width="stretch", key="ch_flags")
    flag_table = pl.DataFrame({  # a static table, so the rules wrap and read in full
        t("churn.page.flag_column.flag"): flag_labels,
        t("churn.page.by_column.customers"): [number(flag_counts[name]) for name in FLAGS],
        t("churn.page.flag_column.share"): [percent(flag_counts[name] / everyone) for name in FLAGS],
        t("churn.page.flag_column.rule"): [t(f"churn.flag_help.{name}", **help_params[name]) for name in FLAGS],
        t("churn.page.flag_column.data"): [t(f"churn.page.flag_data.{flag_data(name)}") for name in FLAGS],
    })
    st.table(flag_table, hide_index=True)
    st.caption(t("churn.page.flags_note"))

# ---------------------------------------------------------------- capacity
with tabs["capacity"]:
    knobs = st.columns(2)
    capacity = widgets.slider(t("churn.page.capacity"), 0, everyone, "ch_capacity", min(DEFAULT_CAPACITY, everyone),
                              step=10 if everyone >= 1000 else 1, container=knobs[0], help=t("churn.page.capacity_help"))
    if with_model and amounts:
        save_rate = widgets.slider(t("churn.capacity.save_rate"), 1, 100, "ch_save", DEFAULT_SAVE_RATE, format="%d%%",
                                   container=knobs[1], help=t("churn.capacity.save_rate_help"))
        gains_curve = curve(ctx.dataset, ctx.as_of, horizon, capacity, save_rate / 100)
        at = gains_curve.row(capacity, named=True)
        total = float(gains_curve["value_at_risk"].max() or 0.0)
        a, b, c = st.columns(3)
        a.metric(t("churn.capacity.contacted"), number(capacity), border=True,
                 delta=t("churn.page.share_of_customers", share=percent(capacity / everyone)),
                 delta_color="off", delta_arrow="off")
        b.metric(t("churn.capacity.value_at_risk"), money(at["value_at_risk"], compact=True), border=True,
                 delta=t("churn.page.share_of_value", share=percent(at["share_of_value_at_risk"])),
                 delta_color="off", delta_arrow="off", help=t("churn.page.value_at_risk_help"))
        c.metric(t("churn.capacity.expected_revenue_saved"), money(at["expected_revenue_saved"], compact=True),
                 border=True, help=t("churn.page.saved_help", rate=save_rate),
                 delta=t("churn.page.at_save_rate", rate=save_rate), delta_color="off", delta_arrow="off")
        step = max(1, gains_curve.height // CURVE_POINTS)
        sampled = gains_curve.gather_every(step)
        st.plotly_chart(churn_charts.capacity_chart(
            sampled["contacted"].to_list(), sampled["expected_revenue_saved"].to_list(), capacity,
            at["expected_revenue_saved"], title=t("churn.page.capacity_title", rate=save_rate),
            x_title=t("churn.capacity.contacted"), y_title=t("churn.capacity.expected_revenue_saved"),
            line_name=t("churn.capacity.expected_revenue_saved"), marker_name=t("churn.page.capacity_marker"),
            marker_text=t("churn.page.capacity_point", customers=number(capacity),
                          value=money(at["expected_revenue_saved"], compact=True)), money=money_axis),
            width="stretch", key="ch_capacity_chart")
        if capacity < everyone and at["marginal_value_at_risk"] is not None:
            st.caption(t("churn.page.capacity_caption", customers=number(capacity),
                         marginal=money(at["marginal_value_at_risk"]), total=money(total, compact=True),
                         rate=save_rate))
    elif with_model:  # the capacity curve counts value at risk
        base.needs_amounts()
    else:
        st.info(t("churn.page.capacity_rules"), icon=":material/rule:")
    st.subheader(t("churn.page.call_list_title", customers=number(capacity)))
    calls = win_back_list(view, capacity)
    if calls.height == 0:
        st.info(t("churn.page.call_list_empty"), icon=":material/call:")
    else:
        call_list = readable(calls, with_model)
        linked, config = widgets.customer_links(call_list, column("customer_id"), list_columns(with_model))
        st.dataframe(linked, hide_index=True, column_config=config, key="ch_calls",
                     height=min(CALLS_PIXELS, ROW_PIXELS * (call_list.height + 1) + 3))
        widgets.downloads(call_list, f"churn_call_list_{capacity}", "ch_call_dl", container=st.columns([2, 3])[0],
                          money=[column("value_at_risk"), column("expected_value")])

# ---------------------------------------------------------------- model card (last: the backtest is the slowest part)
with tabs["model"]:
    if not with_model:
        st.info(t("churn.page.card_needs_model"), icon=":material/rule:")
    else:
        with st.spinner(t("churn.page.backtesting"), show_time=True):
            card = evaluation(ctx.dataset, ctx.as_of, horizon)
        auc, baseline = card.get("auc"), card.get("baseline_auc")
        auc_slot.metric(t("churn.page.metric.auc"), metric_value("auc", auc), border=True,
                        delta=(t("churn.page.metric.auc_delta", value=metric_value("auc", baseline))
                               if auc is not None and baseline is not None else None),
                        delta_color="normal" if auc is None or baseline is None or auc >= baseline else "inverse",
                        delta_arrow="off", help=t("churn.page.metric.auc_help"))
        st.caption(t("churn.page.card_caption", train=format_date(card["train_cutoff"], language),
                     start=format_date(card["eval_cutoff"], language), end=format_date(ctx.as_of, language),
                     customers=number(card["n_customers"] or 0), rate=percent(card["churn_rate"])))
        prefixes = {"model": "", "recency": "baseline_", "bgnbd_horizon": "bgnbd_horizon_", "bgnbd": "bgnbd_"}
        values = {name: {m: card.get(f"{prefixes[name]}{m}") for m in METRICS} for name in prefixes}
        table = pl.DataFrame({  # a static table: four rows, numbers as people write them ("–" = not computed)
            t("churn.page.card_column.ranking"): [t(f"churn.metric.{name}") for name in prefixes],
            **{t(f"churn.metric.{m}"): [metric_value(m, values[name][m]) for name in prefixes] for m in METRICS},
        })
        st.table(table, hide_index=True)
        verdicts = []
        for name in BASELINES:
            ours, theirs = values["model"]["auc"], values[name]["auc"]
            if ours is None or theirs is None:
                continue
            verdicts.append("- " + t("churn.page.verdict_beats" if ours > theirs else "churn.page.verdict_not",
                                     baseline=t(f"churn.page.baseline_name.{name}"), model=metric_value("auc", ours),
                                     other=metric_value("auc", theirs),
                                     lift=metric_value("top_decile_lift", values["model"]["top_decile_lift"]),
                                     other_lift=metric_value("top_decile_lift", values[name]["top_decile_lift"])))
        if verdicts:
            st.markdown("\n".join(verdicts))
        with st.expander(t("churn.page.glossary_title"), icon=":material/help:"):
            st.markdown("\n".join(f"- **{t(f'churn.metric.{m}')}**: {t(f'churn.page.metric_help.{m}')}" for m in METRICS))
            st.caption(t("churn.page.baselines_note"))

        left, right = st.columns(2)
        gains = card["gains"]
        curves = {t(f"churn.metric.{name}"): gains[name].to_list() for name in ("model", *BASELINES) if name in gains.columns}
        left.plotly_chart(churn_charts.gains_chart(
            gains["share_contacted"].to_list(), curves, title=t("churn.page.gains_title"),
            x_title=t("churn.metric.share_contacted"), y_title=t("churn.metric.share_caught"),
            random_name=t("churn.metric.random")), width="stretch", key="ch_gains")
        calibration = card["calibration"]
        right.plotly_chart(churn_charts.calibration_chart(
            calibration["mean_predicted"].to_list(), calibration["observed_rate"].to_list(),
            title=t("churn.page.calibration_title"), x_title=t("churn.metric.mean_predicted"),
            y_title=t("churn.metric.observed_rate"), points_name=t("churn.metric.model"),
            diagonal_name=t("churn.page.perfect_calibration"),
            hover=[t("churn.page.calibration_hover", decile=row["decile"], predicted=percent(row["mean_predicted"]),
                     observed=percent(row["observed_rate"]), customers=number(row["customers"]))
                   for row in calibration.iter_rows(named=True)]), width="stretch", key="ch_calibration")
        st.caption(t("churn.page.charts_caption"))

        importance = model.feature_importance.drop_nulls("importance").head(TOP_FEATURES)
        st.plotly_chart(churn_charts.importance_chart(
            [t(f"churn.feature.{name}") for name in importance["feature"].to_list()], importance["importance"].to_list(),
            importance["importance_std"].to_list(), title=t("churn.page.importance_title"),
            value_title=t("churn.metric.importance"),
            hover=[t("churn.page.importance_hover", feature=t(f"churn.feature.{row['feature']}"),
                     value=f"{row['importance']:.4f}", std=f"{row['importance_std']:.4f}")
                   for row in importance.iter_rows(named=True)]), width="stretch", key="ch_importance")
        st.caption(t("churn.page.model_facts", customers=number(model.n_train),
                     cutoff=format_date(model.cutoff, language), end=format_date(model.label_end, language),
                     rate=percent(model.train_churn_rate), method=t(f"churn.page.calibration_method.{model.calibration}"),
                     features=len(model.feature_names)))
        if model.n_eligible > model.n_train:
            st.caption(t("churn.page.model_sample", customers=number(model.n_train), eligible=number(model.n_eligible)))

with notices:
    shell.show_notices()
