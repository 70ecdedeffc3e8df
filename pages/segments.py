"""Segments: RFM segments and their rules, value tiers, behaviour clusters, segment movement, customer lists.

Every number comes ready from ``crm_core.views.segments`` (through the cached ``ui.views.segments``) on
``ctx.dataset`` as of ``ctx.as_of`` (orders in the sidebar's date range, before the analysis date); the
movement tab compares two dates on ``ctx.history`` so that a customer's older orders count on both sides.
The rule editor, the charts, the group tables and the customer list are drawn by ``ui.sections.segments``.
"""
from datetime import datetime

import streamlit as st

from crm_core.campaigns.model import default_goal
from crm_core.segmentation import NO_SEGMENT, recommended_action
from crm_core.views.segments import K_CHOICES, PRESET_ORDER, TIER_CUT_RANGE, TIER_CUTS, TIERS
from ui import base, campaigns, shell, widgets
from ui.i18n import format_date, format_money, format_number, format_percent, money_column_format, money_formatter
from ui.sections import segments as sections
from ui.sections.segments import ACTION_ROW_HEIGHT, cluster_label, column, segment_name, table_height, tier_name
from ui.state import lang, t
from ui.text import t_plain
from ui.views import segments as views

ctx = shell.context()
language = lang()
money_axis = money_formatter(language, ctx.currency)
MONEY_FORMAT = money_column_format(language, ctx.currency)  # money columns of the tables


def money(value, compact: bool = True) -> str:
    return format_money(value, language, ctx.currency, compact=compact)


st.title(t("segmentation.page.title"))
notices = st.container()  # link notices of this page's controls (they are claimed further down)
shell.require_orders(ctx)

customers = views.customer_count(ctx.dataset, ctx.as_of)
if customers == 0:
    base.caption(ctx)  # says how many were left out for having only refunds
    st.info(t("segmentation.page.no_customers", as_of=format_date(ctx.as_of, language)), icon=":material/event_busy:")
    st.stop()

base.caption(ctx)
amounts = base.amounts_notice(ctx.dataset)
st.caption(t("segmentation.page.counts", customers=format_number(customers, language),
             start=format_date(ctx.start, language), end=format_date(ctx.end, language),
             as_of=format_date(ctx.as_of, language)))

top_left, top_right = st.columns([2, 3])
preset = widgets.selectbox(t("segmentation.page.preset_label"), PRESET_ORDER, "seg_preset", default="standard",
                           container=top_left, format_func=lambda p: t(f"segmentation.preset.{p}"),
                           help=t("segmentation.page.preset_help"))
top_right.caption(t(f"segmentation.preset_note.{preset}"))

tab_names = ["overview", "rules", "tiers", "clusters", "movement", "lists"]
tabs = widgets.tabs("seg_tab", tab_names, lambda name: t(f"segmentation.page.tab.{name}"))

# The rule editor comes first in the code (its edits decide every tab) but sits under the segment table.
with tabs["rules"]:
    table_box = st.container()
    rules = sections.rule_editor(preset)

seg = views.segments(ctx.dataset, ctx.as_of, preset, rules)

# ---------------------------------------------------------------- overview
with tabs["overview"]:
    a, b, c = st.columns(3)
    a.metric(t("segmentation.page.metric_customers"), format_number(seg.customers, language), border=True)
    if amounts:
        b.metric(t("segmentation.page.metric_revenue"), money(seg.revenue), border=True,
                 help=t("segmentation.page.metric_revenue_help"))
        c.metric(t("segmentation.page.metric_top"), segment_name(seg.top), border=True,  # largest by revenue
                 help=t("segmentation.page.metric_top_help",
                        share=format_percent(seg.top_share_of_revenue, language),
                        customers=format_percent(seg.top_share_of_customers, language)))
    else:
        base.needs_amounts(b)
    table = seg.table
    sections.segment_charts(seg, amounts, money)
    sections.rf_grid(views.rf_grid(ctx.dataset, ctx.as_of, preset, rules), amounts, money)

# ---------------------------------------------------------------- table (above the rule editor)
with table_box:
    st.subheader(t("segmentation.page.table_title"))
    sections.draw_group_table(table, segment_name, column("segment"), MONEY_FORMAT, "seg_table", with_action=True,
                              row_height=ACTION_ROW_HEIGHT, height=table_height(table.height, ACTION_ROW_HEIGHT))
    st.caption(t("segmentation.page.table_caption"))

# ---------------------------------------------------------------- value tiers
with tabs["tiers"]:
    cuts = tuple(widgets.slider(t("segmentation.page.tier_cuts"), *TIER_CUT_RANGE, "seg_tiers", TIER_CUTS, step=1,
                                format="%d%%", help=t("segmentation.page.tier_cuts_help")))
    high_cut, mid_cut = cuts
    present = list(TIERS)
    if not amounts:  # tiers are shares of revenue
        base.needs_amounts()
    else:
        tier = views.tiers(ctx.dataset, ctx.as_of, cuts)
        present = list(tier.tiers)
        sections.pareto(tier, cuts)
        sections.draw_group_table(tier.table, tier_name, column("tier"), MONEY_FORMAT, "seg_tier_table")
        st.caption(t("segmentation.page.tiers_caption", high=f"{high_cut}%", mid=f"{mid_cut}%"))

# ---------------------------------------------------------------- clusters
with tabs["clusters"]:
    k_choice = widgets.selectbox(t("segmentation.page.k_label"), K_CHOICES, "seg_k", default="auto",
                                 container=st.columns([1, 2])[0], help=t("segmentation.page.k_help"),
                                 format_func=lambda k: t("segmentation.page.k_auto") if k == "auto" else k)
    auto = views.cluster_choice(ctx.dataset, ctx.as_of)
    k = auto.k if k_choice == "auto" else int(k_choice)  # the silhouette's k, or the one set by hand
    groups = views.clusters(ctx.dataset, ctx.as_of, k)
    names = {c: cluster_label(c, groups.descriptions) for c in range(1, groups.k + 1)}
    st.caption(t("segmentation.page.clusters_caption", k=groups.k, how=t(
        "segmentation.page.k_auto_chosen" if k_choice == "auto" else "segmentation.page.k_fixed")))
    sections.cluster_charts(groups, auto, names, amounts, money_axis)
    sections.draw_group_table(groups.table, lambda c: names.get(int(c), c), column("cluster"), MONEY_FORMAT,
                              "seg_cluster_table", first_width=240, height=table_height(groups.table.height))

# ---------------------------------------------------------------- movement
with tabs["movement"]:
    dates = views.movement_dates(ctx.history, ctx.as_of)
    if dates is None:
        st.info(t("segmentation.page.movement_none"))
    else:
        controls = st.columns([1, 1, 1])
        from_day = widgets.date_input(t("segmentation.page.from_label"), "seg_from", dates.default, dates.lowest,
                                      dates.highest, container=controls[0], help=t("segmentation.page.from_help"),
                                      follow_default=True)
        measure = widgets.radio(t("segmentation.page.measure_label"),
                                ["customers", "revenue"] if amounts else ["customers"], "seg_measure",
                                container=controls[1], format_func=column)
        view = widgets.radio(t("segmentation.page.view_label"), ["matrix", "flows"], "seg_view", container=controls[2],
                             format_func=lambda v: t(f"segmentation.page.view.{v}"))
        from_as_of = datetime.combine(from_day, datetime.min.time())
        span = {"start": format_date(from_as_of, language), "end": format_date(ctx.as_of, language)}
        moves = views.movement(ctx.history, from_as_of, ctx.as_of, preset, rules, measure)
        st.caption(t("segmentation.page.movement_caption", **span, none=segment_name(NO_SEGMENT)))
        summary = moves.summary
        a, b, c = st.columns(3)
        a.metric(t("segmentation.page.metric_compared"), format_number(summary.compared, language), border=True)
        b.metric(t("segmentation.page.metric_stayed"),
                 format_percent(summary.stayed_share, language) if summary.stayed_share is not None else "–",
                 border=True, help=t("segmentation.page.metric_stayed_help"))
        c.metric(t("segmentation.page.metric_newcomers"), format_number(summary.newcomers, language), border=True,
                 help=t("segmentation.page.metric_newcomers_help", start=span["start"]))
        sections.movement_chart(moves, view, measure, span, money, money_axis)
        st.subheader(t("segmentation.page.moves_title"))
        sections.biggest_moves(moves, MONEY_FORMAT)
        st.caption(t("segmentation.page.moves_caption"))

# ---------------------------------------------------------------- customer lists
with tabs["lists"]:
    left, right = st.columns([1, 2])
    by = widgets.radio(t("segmentation.page.list_by"),
                       ["segment", "tier", "cluster"] if amounts else ["segment", "cluster"], "seg_by", container=left,
                       format_func=lambda v: column(v))
    if by == "segment":
        options, label_of = list(seg.order), segment_name
    elif by == "tier":
        options, label_of = present, tier_name
    else:
        options = [str(c) for c in range(1, groups.k + 1)]
        label_of = lambda c: names.get(int(c), c)  # noqa: E731
    pick = widgets.selectbox(t("segmentation.page.list_pick"), options, "seg_pick", container=right,
                             format_func=label_of)
    group = views.customer_group(ctx.dataset, ctx.as_of, preset, rules, cuts, k, by, pick)
    if not amounts:
        st.caption(t_plain("segmentation.page.no_amounts.list_caption",
                           customers=format_number(group.rows.height, language), group=label_of(pick)))
    else:
        st.caption(t_plain("segmentation.page.list_caption", customers=format_number(group.rows.height, language),
                     revenue=money(group.revenue, compact=False), group=label_of(pick)))
    if by == "segment":
        st.caption(t("segmentation.page.list_action", action=t(recommended_action(pick))))
    if group.profile_note:
        st.caption(t(group.profile_note, columns=t("segmentation.page.list_sep").join(
            t(f"segmentation.page.profile.{c}") for c in group.missing_profile)))
    sections.customer_list(group, f"customers_{by}_{pick}", MONEY_FORMAT)
    campaigns.create_button(group.members(by), source=by, detail=pick,
                            goal=default_goal(by, pick),
                            key="seg_campaign", as_of=ctx.as_of)

with notices:
    shell.show_notices()
