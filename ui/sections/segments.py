"""Drawing of the Segments page's self-contained parts: the rule editor, the group tables, the R × F grid,
the movement chart and the customer list. The numbers come ready from :mod:`crm_core.views.segments`;
here they are translated, formatted and drawn."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import streamlit as st

from crm_core.charts import segmentation as seg_charts
from crm_core.segmentation import CATCH_ALL, NO_SEGMENT, RuleError
from crm_core.views import segments as core
from ui import base, state, widgets
from ui.i18n import format_number, format_percent, has_key
from ui.state import lang, t
from ui.text import t_plain

if TYPE_CHECKING:
    from streamlit.elements.lib.column_types import ColumnConfig

Money = Callable[..., str]  # value (, compact=False) -> text in the data's currency
RULES_VERSION = "_seg_rules_version"  # bumped by "restore the map's rules"
ACTION_ROW_HEIGHT = 68  # above 4rem Streamlit wraps long text in a cell: the actions read in full


# ---------------------------------------------------------------- names

def segment_name(key: str) -> str:
    """A segment's name: the map's own segments translated, a custom one (from the editor or a link) as typed.

    Raw text: on a markdown surface pass it through :func:`ui.text.plain` (or :func:`ui.text.t_plain`)."""
    return t(f"segmentation.segment.{key}") if has_key(f"segmentation.segment.{key}") else str(key)


def tier_name(key: str) -> str:
    return t(f"segmentation.tier.{key}")


def column(name: str) -> str:
    return t(f"segmentation.column.{name}")


def cluster_label(cluster: int, descriptions: dict[int, list[str]]) -> str:
    traits = t("segmentation.page.list_sep").join(t(f"segmentation.trait.{k}") for k in descriptions.get(cluster, []))
    return t("segmentation.page.cluster_name", number=cluster, traits=traits)


# ---------------------------------------------------------------- group tables

def table_height(rows: int, row_height: int = 35) -> int:
    """Tall enough to show every row without an inner scroll bar."""
    return row_height * rows + 38


def share_columns(first_header: str, money_format: str, first_width: int = 115) -> dict:
    """Column formats shared by the segment, tier and cluster tables (narrow: a whole table fits a laptop screen)."""
    def share(name: str):
        return st.column_config.NumberColumn(format="percent", width=72, help=column(name))
    return {
        first_header: st.column_config.TextColumn(width=first_width),
        column("customers"): st.column_config.NumberColumn(format="localized", width=70),
        column("share_of_customers"): share("share_of_customers"),
        column("revenue"): st.column_config.NumberColumn(format=money_format, width=100),
        column("share_of_revenue"): share("share_of_revenue"),
        column("avg_recency_days"): st.column_config.NumberColumn(format="%.0f", width=75,
                                                                  help=column("avg_recency_days")),
        column("avg_orders"): st.column_config.NumberColumn(format="%.1f", width=65, help=column("avg_orders")),
        column("avg_revenue"): st.column_config.NumberColumn(format=money_format, width=90, help=column("avg_revenue")),
        column("action"): st.column_config.TextColumn(width=250),
    }


def group_table(table: Any, label_of: Callable[[str], str], first_header: str, with_action: bool = False) -> Any:
    """A segment/tier/cluster table with readable labels and translated headers (the action, if any, second)."""
    shown = table.with_columns(table["segment"].replace_strict({key: label_of(key) for key in table["segment"]}))
    if with_action:
        shown = shown.with_columns(shown["action"].replace_strict({key: t(key) for key in shown["action"]}))
        shown = shown.select("segment", "action", *(c for c in shown.columns if c not in ("segment", "action")))
    else:
        shown = shown.drop("action")
    headers = {name: column(name) for name in shown.columns if name != "segment"}
    return shown.rename({"segment": first_header, **headers})


def draw_group_table(table: Any, label_of: Callable[[str], str], first_header: str, money_format: str, key: str, *,
                     with_action: bool = False, first_width: int = 115, **options: Any) -> None:
    """Draw :func:`group_table` with the :func:`share_columns` formats (``options`` go to ``st.dataframe``)."""
    st.dataframe(group_table(table, label_of, first_header, with_action), hide_index=True,
                 column_config=share_columns(first_header, money_format, first_width), key=key, **options)


# ---------------------------------------------------------------- the rule editor

def _starting_rules(preset: str) -> str | None:
    """The rules the editor starts from: the link's (``seg_rules``) the first time the editor is drawn,
    afterwards (another preset, or after "restore") the preset's own (None)."""
    linked = state.claim("seg_rules", "", state.TEXT, valid=lambda text: core.readable_rules(preset, text))
    base_key = f"_seg_rules_base.{preset}.{st.session_state.get(RULES_VERSION, 0)}"
    if base_key not in st.session_state:
        first = not st.session_state.get("_seg_rules_started")
        st.session_state["_seg_rules_started"] = True
        st.session_state[base_key] = linked if first and linked else None
    return st.session_state[base_key]


def _restore_rules() -> None:
    """Drop the rule edits: a new editor key starts from the preset's rules (the old edits are not replayed)."""
    st.session_state[RULES_VERSION] = st.session_state.get(RULES_VERSION, 0) + 1


def rule_editor(preset: str) -> str | None:
    """Draw the editable rule map of ``preset``; return the rules in force as share-link text (None: the
    preset's own, also while an edit is broken) and put them into the link as ``seg_rules``."""
    editor = core.rule_editor(preset, _starting_rules(preset))
    st.subheader(t("segmentation.page.rules_title"))
    st.caption(t("segmentation.page.rules_help", bins=editor.bins))
    score_column = {name: st.column_config.NumberColumn(column(name), min_value=1, max_value=editor.bins, step=1)
                    for name in ("r_min", "r_max", "f_min", "f_max", "m_min", "m_max")}
    half_column: dict[str, ColumnConfig] = {
        name: st.column_config.NumberColumn(column(name), min_value=1.0, max_value=float(editor.bins), step=0.5)
        for name in ("fm_min", "fm_max") if name in editor.table.columns}
    names = {key: segment_name(key) for key in editor.segment_options}  # now, in this run's language
    edited = st.data_editor(
        editor.table, key=f"seg_rules_{preset}_{st.session_state.get(RULES_VERSION, 0)}", num_rows="dynamic",
        hide_index=True, width="stretch", placeholder=t("segmentation.page.any_score"),
        column_config={"segment": st.column_config.SelectboxColumn(
            column("segment"), options=list(editor.segment_options),
            format_func=lambda key: names.get(str(key), str(key)),
            required=True), **score_column, **half_column},
    )
    rules, broken = None, False
    try:
        rules = core.edited_rules(preset, edited)
    except RuleError as error:
        broken = True
        params = dict(error.params)
        if "column" in params:
            params["column"] = column(params["column"])
        if "field" in params:
            params["field"] = params["field"].upper()
        st.error(t_plain(error.key, **params) + " " + t("segmentation.page.rules_kept"), icon=":material/rule:")
    # the rules in force go into the link (while an edit is broken, that is the map's own)
    st.session_state["seg_rules"] = rules if rules is not None else ""
    left, right = st.columns([3, 1])
    left.caption(t("segmentation.page.rules_custom") if rules is not None else t("segmentation.page.rules_link"))
    if rules is not None or broken:
        right.button(t("segmentation.page.rules_reset"), key="seg_rules_reset", icon=":material/restart_alt:",
                     on_click=_restore_rules)
    coverage = core.rule_coverage(preset, rules)
    if coverage.uncovered:
        st.caption(t("segmentation.page.uncovered", count=coverage.uncovered, total=coverage.codes,
                     other=segment_name(CATCH_ALL)))
    return rules


# ---------------------------------------------------------------- charts

def segment_charts(seg: core.SegmentView, amounts: bool, money: Money) -> None:
    """The treemap of segment sizes beside the bars of each segment's share of customers and revenue."""
    language = lang()
    colours = seg_charts.segment_colours(seg.colour_keys, other=CATCH_ALL, none=NO_SEGMENT)
    table = seg.table
    labels = [segment_name(key) for key in table["segment"].to_list()]
    tile, hover = ("tile", "tile_hover") if amounts else ("tile_customers", "tile_hover_customers")
    tile_texts = [t(f"segmentation.page.{tile}", customers=format_percent(cs, language),
                    revenue=format_percent(rs, language))
                  for cs, rs in table.select("share_of_customers", "share_of_revenue").iter_rows()]
    tile_hover = [t(f"segmentation.page.{hover}", customers=format_number(n, language), revenue=money(r),
                    share=format_percent(rs, language), average=money(avg))
                  for n, r, rs, avg in table.select("customers", "revenue", "share_of_revenue",
                                                    "avg_revenue").iter_rows()]
    left, right = st.columns(2)
    left.plotly_chart(seg_charts.segment_treemap(
        labels, table["customers"].to_list(), [colours[key] for key in table["segment"].to_list()], tile_texts,
        title=t("segmentation.page.treemap_title"), hover=tile_hover), width="stretch", key="seg_treemap")
    right.plotly_chart(seg_charts.share_bars(
        labels, table["share_of_customers"].to_list(), table["share_of_revenue"].to_list(),
        title=t("segmentation.page.shares_title" if amounts else "segmentation.page.shares_title_customers"),
        customers_name=column("share_of_customers"),
        revenue_name=column("share_of_revenue"), axis_title=t("segmentation.page.shares_axis")),
        width="stretch", key="seg_shares")


def pareto(tier: core.TierView, cuts: tuple[int, int]) -> None:
    """The Pareto curve with the tiers' bands; ``cuts`` in percent, as the slider shows them."""
    high_cut, mid_cut = cuts
    st.plotly_chart(seg_charts.pareto(
        tier.curve["customer_share"].to_list(), tier.curve["cum_revenue_share"].to_list(), cuts=tier.cuts,
        tier_ends=list(tier.ends), tier_names=[tier_name(key) for key in tier.tiers],
        tier_colours=[seg_charts.TIER_COLOURS[key] for key in tier.tiers],
        title=t("segmentation.page.pareto_title", customers=format_percent(tier.high_share, lang()),
                cut=f"{high_cut}%"),
        x_title=t("segmentation.page.pareto_x"), y_title=t("segmentation.page.pareto_y"),
        curve_name=t("segmentation.page.pareto_y"),
        cut_labels=[t("segmentation.page.cut_label", share=f"{value}%") for value in (high_cut, mid_cut)]),
        width="stretch", key="seg_pareto")


def cluster_charts(groups: core.ClusterView, auto: core.ClusterChoice, names: dict[int, str], amounts: bool,
                   money_axis: Any) -> None:
    """The recency × revenue scatter of the clusters beside the silhouette of each k tried."""
    language = lang()
    left, right = st.columns([3, 2])
    if not amounts:  # the scatter's vertical axis is revenue
        base.needs_amounts(left)
    else:
        points = groups.points
        left.plotly_chart(seg_charts.cluster_scatter(
            points["recency_days"].to_list(), points["revenue"].to_list(), points["cluster"].to_list(), names,
            points["customer_id"].to_list(), points["orders"].to_list(), title=t("segmentation.page.scatter_title"),
            x_title=t("segmentation.page.scatter_x"), y_title=t("segmentation.page.scatter_y"),
            extra_title=t("segmentation.page.scatter_orders"), money=money_axis), width="stretch", key="seg_scatter")
        left.caption(t("segmentation.page.scatter_caption", shown=format_number(points.height, language),
                       total=format_number(groups.customers, language),
                       dropped=format_number(groups.dropped, language)))
    if auto.silhouette:
        ks = sorted(auto.silhouette)
        right.plotly_chart(seg_charts.silhouette_bars(
            ks, [auto.silhouette[c] for c in ks], groups.k, title=t("segmentation.page.silhouette_title"),
            x_title=t("segmentation.page.silhouette_x"), y_title=t("segmentation.page.silhouette_y"),
            chosen_name=t("segmentation.page.silhouette_chosen")), width="stretch", key="seg_silhouette")
        right.caption(t("segmentation.page.silhouette_caption"))
    else:
        right.info(t("segmentation.page.silhouette_none"))

def rf_grid(grid: core.RFGrid, amounts: bool, money: Money) -> None:
    """The R × F heatmap: customers per cell (and, with amounts, their mean revenue)."""
    language = lang()
    cells = [list(zip(counts, averages)) for counts, averages in zip(grid.customers, grid.avg_revenue)]
    cell_text = [[format_number(n, language) + (f"<br>{money(avg)}" if amounts else "") if n else "" for n, avg in row]
                 for row in cells]
    hover = "segmentation.page.grid_hover" if amounts else "segmentation.page.grid_hover_customers"
    cell_hover = [[t(hover, r=r, f=f, customers=format_number(n, language), average=money(avg))
                   for f, (n, avg) in zip(grid.f_scores, row)] for r, row in zip(grid.r_scores, cells)]
    figure = seg_charts.rf_heatmap(grid.customers, cell_text, cell_hover, grid.r_scores, grid.f_scores,
                                   title=t("segmentation.page.grid_title"), x_title=t("segmentation.page.grid_x"),
                                   y_title=t("segmentation.page.grid_y"), colorbar_title=column("customers"))
    st.plotly_chart(figure, width="stretch", key="seg_grid")
    st.caption(t("segmentation.page.grid_caption", bins=grid.bins))


def movement_chart(moves: core.MovementView, view: str, measure: str, dates: dict[str, str], money: Money,
                   money_axis: Any) -> None:
    """The from × to matrix (``view`` = ``matrix``) or the Sankey of the flows between the two dates."""
    language = lang()
    rows_from, cols_to = moves.rows_from, moves.cols_to
    if view == "matrix":
        z = [[None if c is None else (c.customers if measure == "customers" else c.revenue) for c in row]
             for row in moves.cells]
        text = [["" if c is None else format_number(c.customers, language) if measure == "customers"
                 else money(c.revenue) for c in row] for row in moves.cells]
        hover = [["" if c is None else t(
            "segmentation.page.move_hover", source=segment_name(source), target=segment_name(target),
            customers=format_number(c.customers, language), revenue=money(c.revenue),
            share=format_percent(c.share, language)) for target, c in zip(cols_to, row)]
            for source, row in zip(rows_from, moves.cells)]
        st.plotly_chart(seg_charts.movement_heatmap(
            z, text, hover, [segment_name(key) for key in rows_from], [segment_name(key) for key in cols_to],
            title=t("segmentation.page.matrix_title", **dates),
            x_title=column("segment_to"), y_title=column("segment_from"), colorbar_title=column(measure),
            money=money_axis if measure == "revenue" else None), width="stretch", key="seg_matrix")
        return
    links = moves.links
    st.plotly_chart(seg_charts.movement_sankey(
        links["segment_from"].to_list(), links["segment_to"].to_list(), links[measure].to_list(),
        seg_charts.segment_colours(moves.ranked, other=CATCH_ALL, none=NO_SEGMENT), list(moves.ranked),
        title=t("segmentation.page.flows_title", **dates),
        left_names={key: segment_name(key) for key in rows_from},
        right_names={key: segment_name(key) for key in cols_to},
        hover=[t("segmentation.page.flow_hover", source=segment_name(f), target=segment_name(to),
                 customers=format_number(n, language), revenue=money(r))
               for f, to, n, r in links.select("segment_from", "segment_to", "customers", "revenue").iter_rows()]),
        width="stretch", key="seg_sankey")


def biggest_moves(moves: core.MovementView, money_format: str) -> None:
    """The table of the largest changes of segment."""
    biggest = moves.biggest
    labels = {key: segment_name(key) for key in moves.ranked}
    shown = biggest.with_columns(biggest["segment_from"].replace(labels), biggest["segment_to"].replace(labels))
    st.dataframe(shown.rename({name: column(name) for name in biggest.columns}), hide_index=True, key="seg_moves",
                 height=table_height(biggest.height),
                 column_config={column("customers"): st.column_config.NumberColumn(format="localized"),
                                column("revenue"): st.column_config.NumberColumn(format=money_format)})


# ---------------------------------------------------------------- customer lists

def customer_list(group: core.CustomerGroup, basename: str, money_format: str) -> None:
    """The group's customers with translated labels and headers, links to Customer 360, and downloads."""
    rows = group.rows
    shown = rows.with_columns(
        rows["segment"].replace_strict({key: segment_name(key) for key in rows["segment"].unique()}),
        rows["tier"].replace_strict({tier: tier_name(tier) for tier in core.TIERS}),
        rows["last_order"].dt.date(),
    )
    headers = {name: t(f"segmentation.page.profile.{name}") for name in shown.columns
               if name in ("customer_id", "name", "region", "owner", "recency_days", "orders", "last_order")}
    headers.update({name: column(name) for name in shown.columns if name not in headers})
    shown = shown.rename(headers)
    linked, config = widgets.customer_links(shown, headers["customer_id"], {
        headers["customer_id"]: st.column_config.TextColumn(pinned=True),
        column("revenue"): st.column_config.NumberColumn(format=money_format),
        headers["last_order"]: st.column_config.DateColumn(format="YYYY-MM-DD"),
    })
    st.dataframe(linked, hide_index=True, key="seg_list", column_config=config)
    widgets.downloads(shown, basename, "seg_dl", container=st.columns([2, 3])[0], money=[column("revenue")])
