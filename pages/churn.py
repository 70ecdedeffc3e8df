"""Churn risk: who is likely to stop buying in the next horizon, why, what to do, and how far to trust it.

Every number comes from :mod:`crm_core.views.churn` on ``ctx.dataset`` (orders in the sidebar's date range)
as of ``ctx.as_of``: :func:`~crm_core.views.churn.gate` (the data gate), :func:`~crm_core.views.churn.risk_view`
(the model trained up to the analysis date, risk, reasons, flags, value at risk, segments and regions, the
lists and the capacity curve) and :func:`~crm_core.views.churn.model_card` (the backtest). The sections are
drawn by :mod:`ui.sections.churn`.
"""
import streamlit as st

from crm_core.artefacts import MISSING
from crm_core.views.churn import AT_RISK_TIERS, DEFAULT_HORIZON, DEFAULT_SAVE_RATE, HORIZONS, TIERS
from ui import analyses, base, campaigns, progress, shell, widgets
from ui.i18n import format_date
from ui.sections import churn as sections
from ui.state import lang, t
from ui.views import churn as views

ctx = shell.context()
language = lang()
fmt = sections.Formats(language, ctx.currency)

st.title(t("churn.page.title"))
notices = st.container()  # link notices of this page's controls (they are claimed further down)
shell.require_orders(ctx)
base.scope_note(ctx)

controls = st.columns([2, 3])
horizon = widgets.radio(t("churn.page.horizon"), HORIZONS, "ch_horizon", default=DEFAULT_HORIZON,
                        container=controls[0], format_func=lambda days: t("churn.page.days", days=days),
                        help=t("churn.page.horizon_help"))
controls[1].caption(t("churn.page.caption", days=horizon, as_of=format_date(ctx.as_of, language)))
if not ctx.dataset.has("interactions"):
    st.caption(":material/info: " + t("churn.page.no_interactions"))

gate = views.gate(ctx.dataset, ctx.as_of, horizon)
view = views.risk_view.ready(ctx.dataset, ctx.as_of, horizon)
if view is MISSING:  # computed in the background: say what, and fill in when it is done
    base.caption(ctx)
    if not gate.ok:
        sections.gate_failed(gate)
    with notices:
        shell.show_notices()
    progress.wait_for(analyses.churn_steps(ctx.dataset, ctx.as_of, horizon), "app.progress.churn")

if view.headline.customers == 0:
    base.caption(ctx)  # says how many were left out for having only refunds
    st.info(t("churn.page.no_customers", as_of=format_date(ctx.as_of, language)), icon=":material/event_busy:")
    with notices:
        shell.show_notices()
    st.stop()

facts = view.facts
base.caption(ctx, analysed=facts.n_eligible if facts else None, why="churn.page.base.training",
             cutoff=format_date(facts.cutoff, language) if facts else "", days=horizon)
amounts = base.amounts_notice(ctx.dataset)
if not gate.ok:
    sections.gate_failed(gate)
sections.ranked_by_notice(facts)
auc_slot = sections.headline(view, ctx.as_of, amounts, fmt)

tabs = widgets.tabs("churn_tab", ["list", "model", "breakdown", "capacity"], lambda name: t(f"churn.page.tab.{name}"))

with tabs["list"]:
    chosen = widgets.multiselect(t("churn.page.tier_filter"), list(TIERS), "ch_tier", container=st.columns([2, 3])[0],
                                 format_func=sections.tier_name, help=sections.text(view.tier_help),
                                 default=AT_RISK_TIERS)
    sections.risk_list(view, views.risk_list(ctx.dataset, ctx.as_of, horizon, tuple(chosen), language), amounts, fmt)
    campaigns.create_button(view.members(tiers=chosen), source="at_risk", detail=",".join(chosen), goal="win_back",
                            key="ch_list_campaign", as_of=ctx.as_of)
    base.risk_legend(horizon)

with tabs["breakdown"]:
    st.subheader(t("churn.page.by_segment"))
    segment_names = {key: t(f"segmentation.segment.{key}") for key in view.by_segment.keys if key is not None}
    sections.breakdown(view, view.by_segment, segment_names, t("churn.page.by_segment_chart"),
                       t("churn.page.by_column.segment"), fmt)
    st.caption(t("churn.page.segment_note"))
    st.subheader(t("churn.page.by_region"))
    if view.by_region is not None:
        sections.breakdown(view, view.by_region, {}, t("churn.page.by_region_chart"), sections.column("region"), fmt)
    else:
        st.info(t("churn.page.no_region"), icon=":material/public_off:")
    sections.flag_summary(view, fmt)

with tabs["capacity"]:
    knobs = st.columns(2)
    everyone = view.headline.customers
    capacity = widgets.slider(t("churn.page.capacity"), 0, everyone, "ch_capacity", view.capacity_default,
                              step=view.capacity_step, container=knobs[0], help=t("churn.page.capacity_help"))
    if view.with_model and amounts:
        save_rate = widgets.slider(t("churn.capacity.save_rate"), 1, 100, "ch_save", DEFAULT_SAVE_RATE, format="%d%%",
                                   container=knobs[1], help=t("churn.capacity.save_rate_help"))
        sections.capacity(view.capacity(capacity, save_rate), fmt)
    elif view.with_model:  # the capacity curve counts value at risk
        base.needs_amounts()
    else:
        st.info(t("churn.page.capacity_rules"), icon=":material/rule:")
    sections.call_list(view, views.call_list(ctx.dataset, ctx.as_of, horizon, capacity, language), capacity, fmt)
    campaigns.create_button(view.members(capacity=capacity), source="call_list", detail=str(capacity),
                            goal="win_back", key="ch_calls_campaign", as_of=ctx.as_of)

with tabs["model"]:  # last: the backtest is the slowest part
    if facts is None:
        st.info(t("churn.page.card_needs_model"), icon=":material/rule:")
    else:
        with st.spinner(t("churn.page.backtesting"), show_time=True):
            card = views.model_card(ctx.dataset, ctx.as_of, horizon)
        if card is not None:  # the backtest's gate is the model's: a model has a card
            sections.auc_metric(auc_slot, card)
            sections.model_card(card, facts, ctx.as_of, fmt)

with notices:
    shell.show_notices()
