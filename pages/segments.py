"""Segments: RFM segments and their rules, value tiers, behaviour clusters, segment movement, customer lists.

Every number comes from ``crm_core.segmentation`` on ``customer_summary(ctx.dataset.transactions, ctx.as_of)``
(orders in the sidebar's date range, before the analysis date); the movement tab compares two dates on
``ctx.history`` so that a customer's older orders count on both sides.
"""
from datetime import datetime, timedelta

from dataclasses import replace

import polars as pl
import streamlit as st

from crm_core.charts import segmentation as seg_charts
from crm_core.customers import known_customers
from crm_core.dataset import Dataset
from crm_core.features import customer_summary
from crm_core.segmentation import (
    CATCH_ALL, NO_SEGMENT, PRESETS, SEGMENT_KEYS, Rule, RuleError, clusters, movement, pareto_curve,
    recommended_action, rf_grid, rfm, rule_table, rules_from_table, rules_from_text, rules_to_text, score_map,
    segment_table, value_tiers,
)
from ui import base, shell, state, widgets
from ui.cache import cached
from ui.i18n import format_date, format_money, format_number, format_percent, money_column_format, money_formatter
from ui.state import lang, t

shell.framed()

FIRST_PRESETS = ["standard", "shopify", "klaviyo", "pymc"]
PRESET_ORDER = FIRST_PRESETS + [name for name in PRESETS if name not in FIRST_PRESETS]
K_CHOICES = ["auto"] + [str(k) for k in range(2, 9)]
TIERS = ("high", "mid", "low")
SCATTER_POINTS = 5_000
MOVEMENT_DAYS = 90
RULES_VERSION = "_seg_rules_version"  # bumped by "restore the map's rules"
ACTION_ROW_HEIGHT = 68  # above 4rem Streamlit wraps long text in a cell: the actions read in full


# ---------------------------------------------------------------- cached adapters

def _as_rules(rules: tuple | None) -> list[Rule] | None:
    """Hashable rule rows ``(segment, r, f, m, fm)`` (see :func:`rule_rows`) back into rules."""
    return None if rules is None else [Rule(segment, r, f, m, fm) for segment, r, f, m, fm in rules]


def rule_rows(rules: tuple[Rule, ...]) -> tuple:
    return tuple((rule.segment, rule.r, rule.f, rule.m, rule.fm) for rule in rules)


@cached
def summary(dataset: Dataset, as_of: datetime):
    return customer_summary(dataset.transactions, as_of)


@cached
def scored(dataset: Dataset, as_of: datetime, preset: str, rules: tuple | None):
    return rfm(summary(dataset, as_of), preset=preset, rules=_as_rules(rules))


@cached
def segments(dataset: Dataset, as_of: datetime, preset: str, rules: tuple | None):
    return segment_table(with_prospects(dataset, as_of, preset, scored(dataset, as_of, preset, rules)))


def with_prospects(dataset: Dataset, as_of: datetime, preset: str, people: pl.DataFrame) -> pl.DataFrame:
    """Add the customers without an order (from the customers table) as the preset's ``prospects`` segment,
    for presets that have one (Shopify); they have no scores, no revenue and no orders."""
    if "prospects" not in PRESETS[preset].segments or dataset.customers is None:
        return people
    waiting = known_customers(dataset, as_of).join(people.select("customer_id"), on="customer_id", how="anti")
    if waiting.height == 0:
        return people
    return pl.concat([people, waiting.with_columns(segment=pl.lit("prospects"), revenue=pl.lit(0.0),
                                                   orders=pl.lit(0))], how="diagonal_relaxed")


@cached
def grid(dataset: Dataset, as_of: datetime, preset: str, rules: tuple | None):
    return rf_grid(scored(dataset, as_of, preset, rules), PRESETS[preset].bins)


@cached
def uncovered_codes(dataset: Dataset, preset: str, rules: tuple | None) -> int:
    codes = score_map(preset, rules=_as_rules(rules))
    return int((codes["segment"] == CATCH_ALL).sum())


@cached
def tiers(dataset: Dataset, as_of: datetime, cuts: tuple[float, float]):
    return value_tiers(summary(dataset, as_of), cuts)


@cached
def tier_summary(dataset: Dataset, as_of: datetime, cuts: tuple[float, float]):
    # segment_table aggregates whatever grouping sits in the ``segment`` column: here the tier.
    return segment_table(tiers(dataset, as_of, cuts).with_columns(pl.col("tier").alias("segment")))


@cached
def curve(dataset: Dataset, as_of: datetime, cuts: tuple[float, float]):
    return pareto_curve(tiers(dataset, as_of, cuts))


@cached
def behaviour(dataset: Dataset, as_of: datetime, k: int | None):
    return clusters(summary(dataset, as_of), k=k)


@cached
def cluster_summary(dataset: Dataset, as_of: datetime, k: int | None):
    labelled = summary(dataset, as_of).join(behaviour(dataset, as_of, k).labels, on="customer_id", how="left")
    return segment_table(labelled.with_columns(pl.col("cluster").cast(pl.String).alias("segment")))


@cached
def moves(history: Dataset, from_as_of: datetime, to_as_of: datetime, preset: str, rules: tuple | None):
    before = rfm(customer_summary(history.transactions, from_as_of), preset=preset, rules=_as_rules(rules))
    return movement(before, scored(history, to_as_of, preset, rules))


@cached
def customer_list(dataset: Dataset, as_of: datetime, preset: str, rules: tuple | None, cuts: tuple[float, float],
                  k: int | None):
    """One row per customer: scores, segment, tier, cluster and, when known, name, region and owner."""
    people = with_prospects(dataset, as_of, preset, scored(dataset, as_of, preset, rules))
    if base.has_amounts(dataset):  # value tiers are shares of revenue
        people = people.join(tiers(dataset, as_of, cuts).select("customer_id", "tier"), on="customer_id", how="left")
    else:
        people = people.with_columns(tier=pl.lit(None, dtype=pl.String))
    people = people.join(behaviour(dataset, as_of, k).labels, on="customer_id", how="left")
    profile = [c for c in ("name", "region", "owner") if dataset.has("customers", c)]
    if profile:
        known = dataset.customers.select("customer_id", *profile).unique("customer_id", keep="first")
        people = people.join(known, on="customer_id", how="left")
    return people.select("customer_id", *profile, "segment", "tier", "cluster", "revenue", "orders", "recency_days",
                         "last_order", "r_score", "f_score", "m_score", "rfm_code").sort(
        ["revenue", "customer_id"], descending=[True, False])


# ---------------------------------------------------------------- texts

ctx = shell.context()
language = lang()
money_axis = money_formatter(language, ctx.currency)
MONEY_FORMAT = money_column_format(language, ctx.currency)  # money columns of the tables


def segment_name(key: str) -> str:
    return t(f"segmentation.segment.{key}")


def tier_name(key: str) -> str:
    return t(f"segmentation.tier.{key}")


def column(name: str) -> str:
    return t(f"segmentation.column.{name}")


def money(value, compact: bool = True) -> str:
    return format_money(value, language, ctx.currency, compact=compact)


def cluster_label(cluster: int, descriptions: dict[int, list[str]]) -> str:
    traits = t("segmentation.page.list_sep").join(t(f"segmentation.trait.{k}") for k in descriptions.get(cluster, []))
    return t("segmentation.page.cluster_name", number=cluster, traits=traits)


def share_columns(first_header: str, first_width: int = 115) -> dict:
    """Column formats shared by the segment, tier and cluster tables (narrow: a whole table fits a laptop screen)."""
    def share(name: str):
        return st.column_config.NumberColumn(format="percent", width=72, help=column(name))
    return {
        first_header: st.column_config.TextColumn(width=first_width),
        column("customers"): st.column_config.NumberColumn(format="localized", width=70),
        column("share_of_customers"): share("share_of_customers"),
        column("revenue"): st.column_config.NumberColumn(format=MONEY_FORMAT, width=100),
        column("share_of_revenue"): share("share_of_revenue"),
        column("avg_recency_days"): st.column_config.NumberColumn(format="%.0f", width=75,
                                                                  help=column("avg_recency_days")),
        column("avg_orders"): st.column_config.NumberColumn(format="%.1f", width=65, help=column("avg_orders")),
        column("avg_revenue"): st.column_config.NumberColumn(format=MONEY_FORMAT, width=90, help=column("avg_revenue")),
        column("action"): st.column_config.TextColumn(width=250),
    }


def group_table(table: pl.DataFrame, label_of, first_header: str, with_action: bool = False) -> pl.DataFrame:
    """A segment/tier/cluster table with readable labels and translated headers (the action, if any, second)."""
    names = {key: label_of(key) for key in table["segment"].to_list()}
    shown = table.with_columns(pl.col("segment").replace_strict(names, return_dtype=pl.String))
    if with_action:
        actions = {key: t(key) for key in shown["action"].unique().to_list()}
        shown = shown.with_columns(pl.col("action").replace_strict(actions, return_dtype=pl.String))
        shown = shown.select("segment", "action", pl.exclude("segment", "action"))
    else:
        shown = shown.drop("action")
    headers = {name: column(name) for name in shown.columns if name != "segment"}
    return shown.rename({"segment": first_header, **headers})


def move_matrix(flows: pl.DataFrame, rows_from: list[str], cols_to: list[str], measure: str):
    """Cell values, cell texts and hover texts of the from × to matrix (empty cells: None and "")."""
    cell = {(source, target): (n, r) for source, target, n, r in
            flows.select("segment_from", "segment_to", "customers", "revenue").iter_rows()}
    totals = dict(flows.group_by("segment_from").agg(pl.col("customers").sum()).iter_rows())
    z, text, hover = [], [], []
    for source in rows_from:
        here = [cell.get((source, target)) for target in cols_to]
        z.append([None if c is None else (c[0] if measure == "customers" else c[1]) for c in here])
        text.append(["" if c is None else format_number(c[0], language) if measure == "customers" else money(c[1])
                     for c in here])
        hover.append(["" if c is None else t(
            "segmentation.page.move_hover", source=segment_name(source), target=segment_name(target),
            customers=format_number(c[0], language), revenue=money(c[1]),
            share=format_percent(c[0] / totals[source], language)) for target, c in zip(cols_to, here)])
    return z, text, hover


def starting_rules(preset: str) -> tuple[Rule, ...] | None:
    """The rules the editor starts from: the link's (``seg_rules``) the first time the editor is drawn,
    afterwards (another preset, or after "restore") the preset's own (None)."""
    chosen = PRESETS[preset]

    def readable(text: str) -> bool:
        try:
            return text == "" or bool(rules_from_text(text, chosen.bins))
        except RuleError:
            return False

    linked = state.claim("seg_rules", "", state.TEXT, valid=readable)
    base_key = f"_seg_rules_base.{preset}.{st.session_state.get(RULES_VERSION, 0)}"
    if base_key not in st.session_state:
        first = not st.session_state.get("_seg_rules_started")
        st.session_state["_seg_rules_started"] = True
        st.session_state[base_key] = rules_from_text(linked, chosen.bins) if first and linked else None
    return st.session_state[base_key]


def restore_rules() -> None:
    """Drop the rule edits: a new editor key starts from the preset's rules (the old edits are not replayed)."""
    st.session_state[RULES_VERSION] = st.session_state.get(RULES_VERSION, 0) + 1


def table_height(rows: int, row_height: int = 35) -> int:
    """Tall enough to show every row without an inner scroll bar."""
    return row_height * rows + 38


# ---------------------------------------------------------------- page

st.title(t("segmentation.page.title"))
notices = st.container()  # link notices of this page's controls (they are claimed further down)
shell.require_orders(ctx)

people_now = summary(ctx.dataset, ctx.as_of)
if people_now.height == 0:
    base.caption(ctx)  # says how many were left out for having only refunds
    st.info(t("segmentation.page.no_customers", as_of=format_date(ctx.as_of, language)), icon=":material/event_busy:")
    st.stop()

base.caption(ctx)
amounts = base.amounts_notice(ctx.dataset)
st.caption(t("segmentation.page.counts", customers=format_number(people_now.height, language),
             start=format_date(ctx.start, language), end=format_date(ctx.end, language),
             as_of=format_date(ctx.as_of, language)))

top_left, top_right = st.columns([2, 3])
preset = widgets.selectbox(t("segmentation.page.preset_label"), PRESET_ORDER, "seg_preset", default="standard",
                           container=top_left, format_func=lambda p: t(f"segmentation.preset.{p}"),
                           help=t("segmentation.page.preset_help"))
top_right.caption(t(f"segmentation.preset_note.{preset}"))
chosen = PRESETS[preset]

tab_names = ["overview", "rules", "tiers", "clusters", "movement", "lists"]
tabs = widgets.tabs("seg_tab", tab_names, lambda name: t(f"segmentation.page.tab.{name}"))

# The rule editor comes first in the code (its edits decide every tab) but sits under the segment table.
with tabs["rules"]:
    table_box = st.container()
    st.subheader(t("segmentation.page.rules_title"))
    st.caption(t("segmentation.page.rules_help", bins=chosen.bins))
    base_rules = starting_rules(preset)
    editable = rule_table(replace(chosen, rules=base_rules) if base_rules is not None else preset)
    if editable["fm_min"].null_count() == editable.height and editable["fm_max"].null_count() == editable.height:
        editable = editable.drop("fm_min", "fm_max")  # (F+M)/2 bounds only matter for Shopify-style rules
    score_column = {name: st.column_config.NumberColumn(column(name), min_value=1, max_value=chosen.bins, step=1)
                    for name in ("r_min", "r_max", "f_min", "f_max", "m_min", "m_max")}
    half_column = {name: st.column_config.NumberColumn(column(name), min_value=1.0, max_value=float(chosen.bins),
                                                       step=0.5)
                   for name in ("fm_min", "fm_max") if name in editable.columns}
    segment_options = [key for key in chosen.segments if key != "prospects"] + \
        [key for key in SEGMENT_KEYS if key not in chosen.segments and key not in (NO_SEGMENT, "prospects")]
    editor_key = f"seg_rules_{preset}_{st.session_state.get(RULES_VERSION, 0)}"
    edited = st.data_editor(
        editable, key=editor_key, num_rows="dynamic", hide_index=True, width="stretch",
        placeholder=t("segmentation.page.any_score"),
        column_config={"segment": st.column_config.SelectboxColumn(column("segment"), options=segment_options,
                                                                   format_func=segment_name, required=True),
                       **score_column, **half_column},
    )
    rules, broken = None, False
    try:
        edited_rules = rules_from_table(edited, chosen.bins)
        if edited_rules != chosen.rules:
            rules = rule_rows(edited_rules)
    except RuleError as error:
        broken = True
        params = dict(error.params)
        if "column" in params:
            params["column"] = column(params["column"])
        if "field" in params:
            params["field"] = params["field"].upper()
        st.error(t(error.key, **params) + " " + t("segmentation.page.rules_kept"), icon=":material/rule:")
    # the rules in force go into the link (while an edit is broken, that is the map's own)
    st.session_state["seg_rules"] = rules_to_text(_as_rules(rules)) if rules is not None else ""
    left, right = st.columns([3, 1])
    left.caption(t("segmentation.page.rules_custom") if rules is not None else t("segmentation.page.rules_link"))
    if rules is not None or broken:
        right.button(t("segmentation.page.rules_reset"), key="seg_rules_reset", icon=":material/restart_alt:",
                     on_click=restore_rules)
    uncovered = uncovered_codes(ctx.dataset, preset, rules)
    if uncovered:
        st.caption(t("segmentation.page.uncovered", count=uncovered, total=chosen.bins ** 3,
                     other=segment_name(CATCH_ALL)))

people = scored(ctx.dataset, ctx.as_of, preset, rules)
by_segment = segments(ctx.dataset, ctx.as_of, preset, rules)
order = [key for key in chosen.segments if key in set(by_segment["segment"].to_list())]
order += sorted(key for key in by_segment["segment"].to_list() if key not in order and key != CATCH_ALL)
order += [CATCH_ALL] if CATCH_ALL in by_segment["segment"].to_list() else []
colours = seg_charts.segment_colours(list(chosen.segments) + order, other=CATCH_ALL, none=NO_SEGMENT)
in_order = (by_segment.join(pl.DataFrame({"segment": order, "position": range(len(order))}), on="segment")
            .sort("position").drop("position"))

# ---------------------------------------------------------------- overview
with tabs["overview"]:
    total_revenue = float(people["revenue"].sum())
    biggest = by_segment.row(0, named=True)
    a, b, c = st.columns(3)
    a.metric(t("segmentation.page.metric_customers"), format_number(people.height, language), border=True)
    if amounts:
        b.metric(t("segmentation.page.metric_revenue"), money(total_revenue), border=True,
                 help=t("segmentation.page.metric_revenue_help"))
    else:
        base.needs_amounts(b)
    if amounts:  # the largest segment by revenue
        c.metric(t("segmentation.page.metric_top"), segment_name(biggest["segment"]), border=True,
                 help=t("segmentation.page.metric_top_help",
                        share=format_percent(biggest["share_of_revenue"], language),
                        customers=format_percent(biggest["share_of_customers"], language)))
    labels = [segment_name(key) for key in in_order["segment"].to_list()]
    tile, hover = ("tile", "tile_hover") if amounts else ("tile_customers", "tile_hover_customers")
    tile_texts = [t(f"segmentation.page.{tile}", customers=format_percent(cs, language),
                    revenue=format_percent(rs, language))
                  for cs, rs in in_order.select("share_of_customers", "share_of_revenue").iter_rows()]
    tile_hover = [t(f"segmentation.page.{hover}", customers=format_number(n, language), revenue=money(r),
                    share=format_percent(rs, language), average=money(avg))
                  for n, r, rs, avg in in_order.select("customers", "revenue", "share_of_revenue",
                                                       "avg_revenue").iter_rows()]
    left, right = st.columns(2)
    left.plotly_chart(seg_charts.segment_treemap(
        labels, in_order["customers"].to_list(), [colours[key] for key in in_order["segment"].to_list()], tile_texts,
        title=t("segmentation.page.treemap_title"), hover=tile_hover), width="stretch", key="seg_treemap")
    right.plotly_chart(seg_charts.share_bars(
        labels, in_order["share_of_customers"].to_list(), in_order["share_of_revenue"].to_list(),
        title=t("segmentation.page.shares_title" if amounts else "segmentation.page.shares_title_customers"),
        customers_name=column("share_of_customers"),
        revenue_name=column("share_of_revenue"), axis_title=t("segmentation.page.shares_axis")),
        width="stretch", key="seg_shares")

    cells = grid(ctx.dataset, ctx.as_of, preset, rules)
    scores = list(range(chosen.bins, 0, -1))  # highest R on top
    lookup = {(r, f): (n, avg) for r, f, n, avg in cells.iter_rows()}
    counts = [[lookup[(r, f)][0] for f in range(1, chosen.bins + 1)] for r in scores]
    cell_text = [[format_number(lookup[(r, f)][0], language) + (f"<br>{money(lookup[(r, f)][1])}" if amounts else "")
                  if lookup[(r, f)][0] else "" for f in range(1, chosen.bins + 1)] for r in scores]
    grid_hover = "segmentation.page.grid_hover" if amounts else "segmentation.page.grid_hover_customers"
    cell_hover = [[t(grid_hover, r=r, f=f, customers=format_number(lookup[(r, f)][0], language),
                     average=money(lookup[(r, f)][1])) for f in range(1, chosen.bins + 1)] for r in scores]
    figure = seg_charts.rf_heatmap(counts, cell_text, cell_hover, scores, list(range(1, chosen.bins + 1)),
                                   title=t("segmentation.page.grid_title"), x_title=t("segmentation.page.grid_x"),
                                   y_title=t("segmentation.page.grid_y"), colorbar_title=column("customers"))
    st.plotly_chart(figure, width="stretch", key="seg_grid")
    st.caption(t("segmentation.page.grid_caption", bins=chosen.bins))

# ---------------------------------------------------------------- table (above the rule editor)
with table_box:
    st.subheader(t("segmentation.page.table_title"))
    st.dataframe(group_table(in_order, segment_name, column("segment"), with_action=True),
                 hide_index=True, column_config=share_columns(column("segment")), key="seg_table",
                 row_height=ACTION_ROW_HEIGHT, height=table_height(in_order.height, ACTION_ROW_HEIGHT))
    st.caption(t("segmentation.page.table_caption"))

# ---------------------------------------------------------------- value tiers
with tabs["tiers"]:
    high_cut, mid_cut = widgets.slider(t("segmentation.page.tier_cuts"), 5, 100, "seg_tiers", (80, 95), step=1,
                                       format="%d%%", help=t("segmentation.page.tier_cuts_help"))
    cuts = (high_cut / 100, mid_cut / 100)
    present = list(TIERS)
    if not amounts:  # tiers are shares of revenue
        base.needs_amounts()
    else:
        by_tier = tier_summary(ctx.dataset, ctx.as_of, cuts)
        tier_table = (by_tier.join(pl.DataFrame({"segment": list(TIERS), "position": [0, 1, 2]}), on="segment")
                      .sort("position").drop("position"))
        present = tier_table["segment"].to_list()
        ends = tier_table["share_of_customers"].cum_sum().clip(upper_bound=1.0).to_list()  # where each tier ends
        high_share = tier_table.filter(pl.col("segment") == "high")["share_of_customers"].sum()
        points = curve(ctx.dataset, ctx.as_of, cuts)
        st.plotly_chart(seg_charts.pareto(
            points["customer_share"].to_list(), points["cum_revenue_share"].to_list(), cuts=cuts, tier_ends=ends,
            tier_names=[tier_name(tier) for tier in present],
            tier_colours=[seg_charts.TIER_COLOURS[tier] for tier in present],
            title=t("segmentation.page.pareto_title", customers=format_percent(high_share, language), cut=f"{high_cut}%"),
            x_title=t("segmentation.page.pareto_x"), y_title=t("segmentation.page.pareto_y"),
            curve_name=t("segmentation.page.pareto_y"),
            cut_labels=[t("segmentation.page.cut_label", share=f"{value}%") for value in (high_cut, mid_cut)]),
            width="stretch", key="seg_pareto")
        st.dataframe(group_table(tier_table, tier_name, column("tier")), hide_index=True,
                     column_config=share_columns(column("tier")), key="seg_tier_table")
        st.caption(t("segmentation.page.tiers_caption", high=f"{high_cut}%", mid=f"{mid_cut}%"))

# ---------------------------------------------------------------- clusters
with tabs["clusters"]:
    k_choice = widgets.selectbox(t("segmentation.page.k_label"), K_CHOICES, "seg_k", default="auto",
                                 container=st.columns([1, 2])[0], help=t("segmentation.page.k_help"),
                                 format_func=lambda k: t("segmentation.page.k_auto") if k == "auto" else k)
    k = None if k_choice == "auto" else int(k_choice)
    result = behaviour(ctx.dataset, ctx.as_of, k)
    auto = result if k is None else behaviour(ctx.dataset, ctx.as_of, None)
    names = {c: cluster_label(c, result.descriptions) for c in range(1, result.k + 1)}
    st.caption(t("segmentation.page.clusters_caption", k=result.k,
                 how=t("segmentation.page.k_auto_chosen") if k is None else t("segmentation.page.k_fixed")))
    # A log revenue axis cannot show zero or negative revenue; those customers are counted in the caption.
    points = people_now.join(result.labels, on="customer_id", how="left").filter(pl.col("revenue") > 0)
    dropped = people_now.height - points.height
    if points.height > SCATTER_POINTS:
        points = points.sample(n=SCATTER_POINTS, seed=0)
    left, right = st.columns([3, 2])
    if not amounts:  # the scatter's vertical axis is revenue
        base.needs_amounts(left)
    else:
        left.plotly_chart(seg_charts.cluster_scatter(
            points["recency_days"].to_list(), points["revenue"].to_list(), points["cluster"].to_list(), names,
            points["customer_id"].to_list(), points["orders"].to_list(), title=t("segmentation.page.scatter_title"),
            x_title=t("segmentation.page.scatter_x"), y_title=t("segmentation.page.scatter_y"),
            extra_title=t("segmentation.page.scatter_orders"), money=money_axis), width="stretch", key="seg_scatter")
        left.caption(t("segmentation.page.scatter_caption", shown=format_number(points.height, language),
                       total=format_number(people_now.height, language), dropped=format_number(dropped, language)))
    if auto.silhouette:
        ks = sorted(auto.silhouette)
        right.plotly_chart(seg_charts.silhouette_bars(
            ks, [auto.silhouette[c] for c in ks], result.k, title=t("segmentation.page.silhouette_title"),
            x_title=t("segmentation.page.silhouette_x"), y_title=t("segmentation.page.silhouette_y"),
            chosen_name=t("segmentation.page.silhouette_chosen")), width="stretch", key="seg_silhouette")
        right.caption(t("segmentation.page.silhouette_caption"))
    else:
        right.info(t("segmentation.page.silhouette_none"))
    by_cluster = cluster_summary(ctx.dataset, ctx.as_of, k).sort(pl.col("segment").cast(pl.Int64))
    st.dataframe(group_table(by_cluster, lambda c: names.get(int(c), c), column("cluster")), hide_index=True,
                 column_config=share_columns(column("cluster"), 240), key="seg_cluster_table",
                 height=table_height(by_cluster.height))

# ---------------------------------------------------------------- movement
with tabs["movement"]:
    first_order = ctx.history.transactions["order_date"].min()
    lowest = first_order.date() + timedelta(days=1)
    highest = ctx.as_of.date() - timedelta(days=1)
    if highest < lowest:
        st.info(t("segmentation.page.movement_none"))
    else:
        default_from = min(max(ctx.as_of.date() - timedelta(days=MOVEMENT_DAYS), lowest), highest)
        controls = st.columns([1, 1, 1])
        from_day = widgets.date_input(t("segmentation.page.from_label"), "seg_from", default_from, lowest, highest,
                                      container=controls[0], help=t("segmentation.page.from_help"), follow_default=True)
        measure = widgets.radio(t("segmentation.page.measure_label"),
                                ["customers", "revenue"] if amounts else ["customers"], "seg_measure",
                                container=controls[1], format_func=column)
        view = widgets.radio(t("segmentation.page.view_label"), ["matrix", "flows"], "seg_view", container=controls[2],
                             format_func=lambda v: t(f"segmentation.page.view.{v}"))
        from_as_of = datetime.combine(from_day, datetime.min.time())
        flows = moves(ctx.history, from_as_of, ctx.as_of, preset, rules)
        st.caption(t("segmentation.page.movement_caption", start=format_date(from_as_of, language),
                     end=format_date(ctx.as_of, language), none=segment_name(NO_SEGMENT)))
        compared = int(flows["customers"].sum())
        earlier = flows.filter(pl.col("segment_from") != NO_SEGMENT)
        stayed = int(earlier.filter(pl.col("segment_from") == pl.col("segment_to"))["customers"].sum())
        newcomers = compared - int(earlier["customers"].sum())
        a, b, c = st.columns(3)
        a.metric(t("segmentation.page.metric_compared"), format_number(compared, language), border=True)
        b.metric(t("segmentation.page.metric_stayed"),
                 format_percent(stayed / (compared - newcomers), language) if compared > newcomers else "–",
                 border=True, help=t("segmentation.page.metric_stayed_help"))
        c.metric(t("segmentation.page.metric_newcomers"), format_number(newcomers, language), border=True,
                 help=t("segmentation.page.metric_newcomers_help", start=format_date(from_as_of, language)))
        seen_from = set(flows["segment_from"].to_list())
        seen_to = set(flows["segment_to"].to_list())
        ranked = [key for key in chosen.segments if key not in (CATCH_ALL, NO_SEGMENT)]
        ranked += sorted((seen_from | seen_to) - set(ranked) - {CATCH_ALL, NO_SEGMENT}) + [CATCH_ALL, NO_SEGMENT]
        rows_from = [key for key in ranked if key in seen_from]
        cols_to = [key for key in ranked if key in seen_to]
        move_colours = seg_charts.segment_colours(ranked, other=CATCH_ALL, none=NO_SEGMENT)
        if view == "matrix":
            z, text, hover = move_matrix(flows, rows_from, cols_to, measure)
            st.plotly_chart(seg_charts.movement_heatmap(
                z, text, hover, [segment_name(key) for key in rows_from], [segment_name(key) for key in cols_to],
                title=t("segmentation.page.matrix_title", start=format_date(from_as_of, language),
                        end=format_date(ctx.as_of, language)),
                x_title=column("segment_to"), y_title=column("segment_from"), colorbar_title=column(measure),
                money=money_axis if measure == "revenue" else None), width="stretch", key="seg_matrix")
        else:
            positive = flows.filter(pl.col(measure) > 0)
            st.plotly_chart(seg_charts.movement_sankey(
                positive["segment_from"].to_list(), positive["segment_to"].to_list(), positive[measure].to_list(),
                move_colours, ranked, title=t("segmentation.page.flows_title", start=format_date(from_as_of, language),
                                      end=format_date(ctx.as_of, language)),
                left_names={key: segment_name(key) for key in rows_from},
                right_names={key: segment_name(key) for key in cols_to},
                hover=[t("segmentation.page.flow_hover", source=segment_name(f), target=segment_name(to),
                         customers=format_number(n, language), revenue=money(r))
                       for f, to, n, r in positive.select("segment_from", "segment_to", "customers",
                                                          "revenue").iter_rows()]),
                width="stretch", key="seg_sankey")
        st.subheader(t("segmentation.page.moves_title"))
        changed = (pl.col("segment_from") != pl.col("segment_to")) & (pl.col("segment_from") != NO_SEGMENT)
        biggest_moves = (flows.filter(changed).sort([measure, "segment_from", "segment_to"],
                                                    descending=[True, False, False]).head(15))
        labels_all = {key: segment_name(key) for key in ranked}
        st.dataframe(
            biggest_moves.with_columns(pl.col("segment_from", "segment_to").replace(labels_all))
            .rename({name: column(name) for name in biggest_moves.columns}),
            hide_index=True, key="seg_moves", height=table_height(biggest_moves.height),
            column_config={column("customers"): st.column_config.NumberColumn(format="localized"),
                           column("revenue"): st.column_config.NumberColumn(format=MONEY_FORMAT)},
        )
        st.caption(t("segmentation.page.moves_caption"))

# ---------------------------------------------------------------- customer lists
with tabs["lists"]:
    listing = customer_list(ctx.dataset, ctx.as_of, preset, rules, cuts, k)
    left, right = st.columns([1, 2])
    by = widgets.radio(t("segmentation.page.list_by"),
                       ["segment", "tier", "cluster"] if amounts else ["segment", "cluster"], "seg_by", container=left,
                       format_func=lambda v: column(v))
    if by == "segment":
        options, label_of = order, segment_name
    elif by == "tier":
        options, label_of = present, tier_name
    else:
        options = [str(c) for c in range(1, result.k + 1)]
        label_of = lambda c: names.get(int(c), c)  # noqa: E731
    pick = widgets.selectbox(t("segmentation.page.list_pick"), options, "seg_pick", container=right,
                             format_func=label_of)
    chosen_rows = listing.filter(pl.col(by).cast(pl.String) == pick)
    if not amounts:
        st.caption(t("segmentation.page.no_amounts.list_caption", customers=format_number(chosen_rows.height, language),
                     group=label_of(pick)))
    else:
        st.caption(t("segmentation.page.list_caption", customers=format_number(chosen_rows.height, language),
                     revenue=money(float(chosen_rows["revenue"].sum()), compact=False), group=label_of(pick)))
    if by == "segment":
        st.caption(t("segmentation.page.list_action", action=t(recommended_action(pick))))
    missing_profile = [c for c in ("name", "region", "owner") if c not in listing.columns]
    if missing_profile:
        why = "list_no_profile" if ctx.dataset.customers is None else "list_some_profile"
        st.caption(t(f"segmentation.page.{why}", columns=t("segmentation.page.list_sep").join(
            t(f"segmentation.page.profile.{c}") for c in missing_profile)))
    tier_labels = {tier: tier_name(tier) for tier in TIERS}
    shown = chosen_rows.with_columns(
        pl.col("segment").replace_strict({key: segment_name(key) for key in set(listing["segment"].to_list())},
                                         return_dtype=pl.String),
        pl.col("tier").replace_strict(tier_labels, return_dtype=pl.String),
        pl.col("last_order").dt.date(),
    )
    headers = {name: t(f"segmentation.page.profile.{name}") for name in shown.columns
               if name in ("customer_id", "name", "region", "owner", "recency_days", "orders", "last_order")}
    headers.update({name: column(name) for name in shown.columns if name not in headers})
    shown = shown.rename(headers)
    linked, config = widgets.customer_links(shown, headers["customer_id"], {
        headers["customer_id"]: st.column_config.TextColumn(pinned=True),
        column("revenue"): st.column_config.NumberColumn(format=MONEY_FORMAT),
        headers["last_order"]: st.column_config.DateColumn(format="YYYY-MM-DD"),
    })
    st.dataframe(linked, hide_index=True, key="seg_list", column_config=config)
    widgets.downloads(shown, f"customers_{by}_{pick}", "seg_dl", container=st.columns([2, 3])[0],
                      money=[column("revenue")])

with notices:
    shell.show_notices()
