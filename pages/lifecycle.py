"""Lifecycle & value.

Lifecycle stages and their rules, stage flows, cohort retention, predicted customer value (BG/NBD +
Gamma–Gamma) and the model card with its holdout check.

Every number comes from ``crm_core.views.lifecycle`` (its choices and defaults as ``core``, its view-models
cached as ``ui.views.lifecycle``), over ``crm_core.lifecycle`` and ``crm_core.clv``, on ``ctx.dataset``
(orders in the sidebar's date range) as of ``ctx.as_of``; prospects come from the dataset's customer table.
The tabs are drawn by ``ui.sections.lifecycle``.
"""
import streamlit as st

from crm_core.lifecycle import NOT_YET
from crm_core.views import lifecycle as core
from ui import base, shell, widgets
from ui.sections import lifecycle as draw
from ui.sections.lifecycle import day, in_days, number, plain, stage_name
from ui.state import t
from ui.views import lifecycle as views

ctx = shell.context()

st.title(t("lifecycle.page.title"))
notices = st.container()  # link notices of this page's controls (they are claimed further down)
shell.require_orders(ctx)

buyers = views.buyer_count(ctx.dataset, ctx.as_of)
if buyers == 0:
    base.caption(ctx)  # says how many were left out for having only refunds
    st.info(t("lifecycle.page.no_customers", as_of=day(ctx.as_of)), icon=":material/event_busy:")
    with notices:
        shell.show_notices()
    st.stop()
st.caption(t("lifecycle.page.caption", customers=number(buyers), start=day(ctx.start), end=day(ctx.end),
             as_of=day(ctx.as_of)))

base_box = st.container()  # the customer base, filled once the stages are counted
amounts = base.amounts_notice(ctx.dataset)

tabs = widgets.tabs("life_tab", ["stages", "flow", "cohorts", "value", "model"],
                    lambda name: t(f"lifecycle.page.tab.{name}"))

# ---------------------------------------------------------------- stages
with tabs["stages"]:
    derived = views.chosen_windows(ctx.dataset, ctx.as_of).derived
    controls = st.columns(4)
    chosen_days = [
        widgets.number_input(t(f"lifecycle.page.window_label.{name}"), 0, core.MAX_WINDOW_DAYS, key, 0, step=1,
                             container=box, help=t(f"lifecycle.window.{name}") + ". "
                             + t("lifecycle.page.auto_help", value=plain(derived[name])))
        for box, name, key in zip(controls, core.WINDOW_NAMES, ("lc_new", "lc_dormant", "lc_churned"), strict=False)]
    at_risk_factor = plain(widgets.number_input(
        t("lifecycle.page.window_label.at_risk_factor"), 1.0, core.MAX_AT_RISK_FACTOR, "lc_at_risk",
        core.AT_RISK_FACTOR, step=0.1, format="%.1f", container=controls[3],
        help=t("lifecycle.window.at_risk_factor") + ". " + t("lifecycle.page.at_risk_help")))
    windows = views.chosen_windows(ctx.dataset, ctx.as_of, *chosen_days)
    st.caption(t("lifecycle.page.windows_caption", **{name: plain(value) for name, value in derived.items()})
               + " " + t("lifecycle.window.derivation"))
    if windows.clash:
        st.warning(t("lifecycle.page.windows_clash", dormant=plain(windows.chosen["dormant_days"]),
                     churned=plain(windows.chosen["churned_days"])), icon=":material/warning:")

    summary = views.stage_summary(ctx.dataset, ctx.as_of, windows.key, at_risk_factor)
    base.caption(ctx, analysed=summary.everyone, why="lifecycle.page.base.stages", container=base_box,
                 buyers=number(summary.buyers), prospects=number(summary.prospects))
    draw.stage_metrics(summary)
    draw.stage_charts(summary, amounts)
    draw.rule_table(summary, amounts)

    st.subheader(t("lifecycle.page.list_title"))
    pick = widgets.selectbox(t("lifecycle.page.list_pick"), summary.present, "lc_stage", container=st.columns(3)[0],
                             default=summary.first_list, format_func=stage_name)
    draw.customer_list(summary.lists[pick], pick, amounts)

# ---------------------------------------------------------------- flow between two dates
with tabs["flow"]:
    dates = views.flow_range(ctx.dataset, ctx.as_of)
    if dates is None:
        st.info(t("lifecycle.page.flow_none"))
    else:
        left, right = st.columns([1, 2])
        start = widgets.date_input(t("lifecycle.page.from_label"), "lc_from", dates.default, dates.lowest,
                                   dates.highest, container=left, help=t("lifecycle.page.from_help"),
                                   follow_default=True)
        right.caption(t("lifecycle.page.flow_caption", start=day(start), end=day(ctx.as_of),
                        none=stage_name(NOT_YET)))
        draw.flow(views.stage_flow(ctx.dataset, start, ctx.as_of, windows.key, at_risk_factor), start, ctx.as_of)

# ---------------------------------------------------------------- cohorts
with tabs["cohorts"]:
    a, b, c = st.columns(3)
    period = widgets.radio(t("lifecycle.page.period_label"), core.PERIODS, "lc_cohort_period", container=a,
                           format_func=lambda p: t(f"lifecycle.page.period.{p}"))
    measure = widgets.radio(t("lifecycle.page.measure_label"), core.MEASURES if amounts else core.MEASURES[:1],
                            "lc_cohort_measure", container=b, format_func=lambda m: t(f"lifecycle.page.measure.{m}"))
    view = widgets.radio(t("lifecycle.page.view_label"), core.VIEWS, "lc_cohort_view", container=c,
                         format_func=lambda v: t(f"lifecycle.page.view.{v}"))
    draw.cohort_heatmap(views.cohort_matrix(ctx.dataset, ctx.as_of, period, measure, view), ctx.as_of)

# ---------------------------------------------------------------- value (CLV)
a, b, c = tabs["value"].columns(3)
horizon = widgets.selectbox(t("lifecycle.page.horizon_label"), core.HORIZONS, "lc_horizon", default=core.HORIZON,
                            container=a, format_func=in_days, help=t("lifecycle.page.horizon_help"))
discount_percent = widgets.number_input(t("lifecycle.page.discount_label"), 0.0, core.MAX_DISCOUNT_PERCENT,
                                        "lc_discount", core.DISCOUNT_PERCENT, step=0.1, format="%.1f", container=b,
                                        help=t("lifecycle.page.discount_help"))
top_n = widgets.selectbox(t("lifecycle.page.top_label"), core.TOP_CHOICES, "lc_top", default=core.TOP, container=c)
model = views.value_model(ctx.dataset, ctx.as_of, horizon, discount_percent, windows.key, at_risk_factor)
too_small = t("lifecycle.page.too_small", customers=number(buyers), repeat=number(model.repeat_buyers),
              minimum=model.minimum)

with tabs["value"]:
    if not model.ok:
        st.warning(too_small, icon=":material/query_stats:")
    else:
        if model.degenerate is not None:
            draw.degenerate(model.degenerate)
        draw.notes(model)
        draw.value_metrics(model, horizon, discount_percent, amounts)
        if amounts:  # predicted value is money
            draw.value_histogram(model, horizon)
        else:
            base.needs_amounts()
        draw.top_customers(model, horizon, top_n)
        if model.alive_views:  # a degenerate fit's P(alive) tells nobody apart (said above)
            draw.alive_map(model)

# ---------------------------------------------------------------- model card and holdout
with tabs["model"]:
    if not model.ok:
        st.warning(too_small, icon=":material/query_stats:")
    else:
        draw.model_card(model)
        st.subheader(t("lifecycle.page.holdout_title"))
        holdout_days = widgets.selectbox(t("lifecycle.page.holdout_label"), core.HOLDOUTS, "lc_holdout",
                                         default=core.HOLDOUT, container=st.columns(3)[0], format_func=in_days,
                                         help=t("lifecycle.page.holdout_help"))
        draw.holdout(views.holdout_check(ctx.dataset, ctx.as_of, holdout_days, model.result.betageo.penalizer),
                     ctx.as_of, holdout_days)

with notices:
    shell.show_notices()
