"""Cross-sell: association rules, product affinity, "also bought", next-best offers and "bought X, not Y" lists.

Every number comes from ``crm_core.cross_sell`` on ``ctx.dataset`` (the sidebar's filters and date range)
with ``as_of=ctx.as_of``: only lines before the analysis date count. Baskets are orders or customers'
whole histories; items are products or categories (the switches at the top decide for every tab).
"""
import json
from datetime import datetime

import polars as pl
import streamlit as st

from crm_core import charts
from crm_core.charts import cross_sell as xs_charts
from crm_core.cross_sell import (
    BASKETS_BY, LEVELS, SOURCES, also_bought, association_rules, baskets, lift_matrix, recommend, target_list,
)
from crm_core.dataset import Dataset
from crm_core.features import customer_summary
from crm_core.segmentation import PRESETS, rfm
from ui import base, shell, widgets
from ui.cache import cached
from ui.i18n import format_date, format_money, format_number, format_percent, money_column_format
from ui.state import lang, t

shell.framed()

MINED_LIFT = 1.0               # rules are mined once at this lift and confidence 0; the sliders filter them
RULES_SHOWN = 1_000            # rows of the rules table on screen (the download has all)
RULES_FOR_OFFERS = 2_000       # strongest one-item rules (confidence × lift) that recommendations match against
SEGMENT_CAP = 5_000            # customers of a segment that get recommendations (largest revenue first)
CUSTOMER_PICKER_MAX = 20_000   # above this many customers the customer is typed, not picked
SEGMENT_PRESET = "standard"
RULE_METRICS_SHOWN = ["support", "confidence", "lift", "conviction", "leverage", "support_count"]
RULE_METRICS_DOWNLOADED = ["zhangs_metric", "antecedent_support", "consequent_support", "antecedent_count",
                           "consequent_count", "baskets"]   # in the download only
PROFILE = ("name", "region", "owner")
MARKDOWN_SPECIAL = set("\\`*_{}[]<>()#+-.!|~$")


# ---------------------------------------------------------------- cached adapters

@cached
def basket_overview(dataset: Dataset, as_of: datetime, level: str, by: str) -> dict:
    """Baskets with an item, those with two or more, and every item with its number of baskets (most first)."""
    long = baskets(dataset.transactions, level, by, as_of)
    sizes = long.group_by("basket").agg(pl.len().alias("items"))
    items = long.group_by("item").agg(pl.len().alias("baskets")).sort(["baskets", "item"], descending=[True, False])
    return {"baskets": sizes.height, "multi": int((sizes["items"] > 1).sum()), "items": items}


@cached
def mined_rules(dataset: Dataset, as_of: datetime, level: str, by: str, min_support: float, max_len: int):
    return association_rules(dataset.transactions, min_support=min_support, min_confidence=0.0, min_lift=MINED_LIFT,
                             level=level, by=by, max_len=max_len, as_of=as_of)


def rules_at(dataset: Dataset, as_of: datetime, level: str, by: str, min_support: float, max_len: int,
             min_confidence: float, min_lift: float) -> pl.DataFrame:
    """``association_rules`` at these thresholds: the cached mining, filtered as the core filters it."""
    mined = mined_rules(dataset, as_of, level, by, min_support, max_len)
    return mined.filter((pl.col("confidence") >= min_confidence) & (pl.col("lift") >= min_lift))


@cached
def affinity(dataset: Dataset, as_of: datetime, level: str, by: str, top: int):
    return lift_matrix(dataset.transactions, top=top, level=level, by=by, as_of=as_of)


@cached
def together(dataset: Dataset, as_of: datetime, level: str, by: str, item: str, top: int):
    return also_bought(dataset.transactions, item, level=level, by=by, top=top, as_of=as_of)


@cached
def summary(dataset: Dataset, as_of: datetime):
    return customer_summary(dataset.transactions, as_of)


@cached
def segmented(dataset: Dataset, as_of: datetime):
    return rfm(summary(dataset, as_of), preset=SEGMENT_PRESET).select("customer_id", "segment", "revenue")


@cached
def customer_choices(dataset: Dataset, as_of: datetime) -> tuple[list[str], dict[str, str]]:
    """Customer ids by net revenue (largest first), and their names when the customers table has them."""
    ids = summary(dataset, as_of).sort(["revenue", "customer_id"], descending=[True, False])["customer_id"].to_list()
    names: dict[str, str] = {}
    if dataset.has("customers", "name"):
        known = dataset.customers.select("customer_id", "name").drop_nulls().unique("customer_id", keep="first")
        names = dict(known.iter_rows())
    return ids, names


@cached
def offers(dataset: Dataset, as_of: datetime, scope: str, target: str, k: int, level: str, by: str,
           min_support: float, max_len: int, min_confidence: float, min_lift: float) -> tuple[pl.DataFrame, int]:
    """Recommendations for one customer (``scope="customer"``) or a standard-preset segment, and the
    number of customers asked for (a segment is cut to its ``SEGMENT_CAP`` largest by revenue)."""
    if scope == "segment":
        members = segmented(dataset, as_of).filter(pl.col("segment") == target).sort(
            ["revenue", "customer_id"], descending=[True, False])
        customer_ids, asked = members["customer_id"].head(SEGMENT_CAP).to_list(), members.height
    else:
        customer_ids, asked = [target], 1
    # recommend matches every customer against every rule: the strongest rules carry the rule-based slots
    rules = (rules_at(dataset, as_of, level, by, min_support, max_len, min_confidence, min_lift)
             .filter(pl.col("consequents").list.len() == 1)
             .sort(pl.col("confidence") * pl.col("lift"), descending=True).head(RULES_FOR_OFFERS))
    found = recommend(dataset.transactions, customer_ids, k=k, rules=rules, level=level, by=by, as_of=as_of)
    return found, asked


@cached
def purchases_of(dataset: Dataset, as_of: datetime, level: str, customer_id: str) -> list[str]:
    """The items one customer bought before ``as_of``."""
    lines = dataset.transactions.filter(pl.col("customer_id") == customer_id)
    return baskets(lines, level, "customer", as_of)["item"].to_list()


@cached
def targets(dataset: Dataset, as_of: datetime, level: str, bought: tuple, not_bought: tuple):
    found = target_list(dataset.transactions, bought, not_bought, level=level, as_of=as_of)
    profile = [c for c in PROFILE if dataset.has("customers", c)]
    if profile:
        known = dataset.customers.select("customer_id", *profile).unique("customer_id", keep="first")
        found = found.join(known, on="customer_id", how="left").select(
            "customer_id", *profile, *[c for c in found.columns if c != "customer_id"])
    return found


# ---------------------------------------------------------------- texts

ctx = shell.context()
language = lang()
MONEY_FORMAT = money_column_format(language, ctx.currency)  # money columns of the tables


def column(name: str) -> str:
    return t(f"cross_sell.column.{name}")


def metric_name(name: str) -> str:
    return t(f"cross_sell.metric.{name}")


def number(value) -> str:
    return format_number(value, language)


def percent(value) -> str:
    return format_percent(value, language)


def with_reasons(recommended: pl.DataFrame) -> pl.DataFrame:
    """A ``reason`` column: each distinct (reason_key, reason_params) rendered once in the UI language."""
    distinct = recommended.select("reason_key", "reason_params").unique()
    texts = [t(key, **json.loads(params)) for key, params in distinct.iter_rows()]
    rendered = distinct.with_columns(pl.Series("reason", texts, dtype=pl.String))
    return recommended.join(rendered, on=["reason_key", "reason_params"], how="left", maintain_order="left")


def markdown_text(text: str) -> str:
    """``text`` shown literally by st.markdown (item names may hold *, _, [ …)."""
    return "".join("\\" + char if char in MARKDOWN_SPECIAL else char for char in text)


def metric_columns(names) -> dict:
    """Column formats and help texts of rule metrics (keys: the translated headers)."""
    formats = {"support": "percent", "confidence": "percent", "lift": "%.2f", "leverage": "%.4f", "conviction": "%.2f",
               "zhangs_metric": "%.2f", "support_count": "localized", "antecedent_count": "localized",
               "baskets": "localized"}
    return {metric_name(name): st.column_config.NumberColumn(format=formats[name],
                                                             help=t(f"cross_sell.metric_help.{name}"))
            for name in names}


# ---------------------------------------------------------------- page

st.title(t("cross_sell.page.title"))
notices = st.container()  # link notices of this page's controls (they are claimed further down)
shell.require_orders(ctx)
base.caption(ctx)

levels = [level for level in LEVELS if ctx.dataset.has("transactions", level)]
if not levels:
    st.info(t("cross_sell.page.no_items"), icon=":material/inventory_2:")
    with notices:
        shell.show_notices()
    st.stop()

top_left, top_mid, top_right = st.columns([2, 3, 3])
level = widgets.radio(t("cross_sell.page.level_label"), levels, "xs_level", default=levels[0], container=top_left,
                      format_func=lambda v: t(f"cross_sell.level.{v}"), help=t("cross_sell.page.level_help"))
by = widgets.radio(t("cross_sell.page.by_label"), list(BASKETS_BY), "xs_by", default="order", container=top_mid,
                   format_func=lambda v: t(f"cross_sell.by.{v}"), help=t("cross_sell.page.by_help"))
level_name = t(f"cross_sell.level.{level}")          # a header: "Product"
level_word = t(f"cross_sell.level_word.{level}")     # inside a sentence: "product"
notes = [t(f"cross_sell.page.basket_note.{by}")]
if by == "order" and not ctx.dataset.has("transactions", "order_id"):
    notes.append(t("cross_sell.page.no_order_id"))
notes += [t("cross_sell.page.missing_level", level=t(f"cross_sell.level_word.{missing}"))
          for missing in LEVELS if missing not in levels]
top_right.caption(" ".join(notes))

overview = basket_overview(ctx.dataset, ctx.as_of, level, by)
items = overview["items"]["item"].to_list()
if overview["baskets"] == 0:
    st.info(t("cross_sell.page.no_baskets", level=level_word, as_of=format_date(ctx.as_of, language)),
            icon=":material/shopping_cart_off:")
    with notices:
        shell.show_notices()
    st.stop()

metrics_box = st.container()  # headline numbers, filled once the rule thresholds are known
tab_names = ["rules", "affinity", "also", "offers", "targets"]
tabs = dict(zip(tab_names, st.tabs([t(f"cross_sell.page.tab.{name}") for name in tab_names])))

# ---------------------------------------------------------------- rules
with tabs["rules"]:
    a, b, c, d = st.columns([3, 3, 3, 2])
    support_pct = widgets.slider(t("cross_sell.page.support_label"), 0.1, 20.0, "xs_support", 1.0, step=0.1,
                                 format="%.1f%%", container=a, help=t("cross_sell.metric_help.min_support"))
    confidence_pct = widgets.slider(t("cross_sell.page.confidence_label"), 0, 100, "xs_confidence", 10, step=1,
                                    format="%d%%", container=b, help=t("cross_sell.metric_help.min_confidence"))
    min_lift = widgets.slider(t("cross_sell.page.lift_label"), 1.0, 10.0, "xs_lift", 1.0, step=0.1, format="%.1f",
                              container=c, help=t("cross_sell.metric_help.min_lift"))
    max_len = widgets.selectbox(t("cross_sell.page.max_len_label"), [2, 3], "xs_maxlen", default=3, container=d,
                                help=t("cross_sell.metric_help.max_len"))
    min_support, min_confidence = round(support_pct / 100, 6), confidence_pct / 100
    rules = rules_at(ctx.dataset, ctx.as_of, level, by, min_support, max_len, min_confidence, min_lift)
    query = widgets.text_input(t("cross_sell.page.search_label"), "xs_search",
                               placeholder=t("cross_sell.page.search_placeholder"),
                               help=t("cross_sell.page.search_help", level=level_word))
    found = rules
    if query.strip():
        needle = query.strip().lower()
        found = rules.filter(pl.concat_list("antecedents", "consequents").list.eval(
            pl.element().str.to_lowercase().str.contains(needle, literal=True)).list.any())
    if rules.height == 0:
        st.info(t("cross_sell.page.no_rules", baskets=number(overview["baskets"])), icon=":material/tune:")
    elif found.height == 0:
        st.info(t("cross_sell.page.no_match", query=query.strip(), rules=number(rules.height)),
                icon=":material/search_off:")
    else:
        separator = t("cross_sell.page.list_sep")
        table = found.select(
            pl.col("antecedents").list.join(separator).alias(column("antecedents")),
            pl.col("consequents").list.join(separator).alias(column("consequents")),
            *[pl.col(name).alias(metric_name(name)) for name in RULE_METRICS_SHOWN + RULE_METRICS_DOWNLOADED],
        ).with_columns(  # conviction is ∞ for a rule that never fails: blank on screen and in files (no ∞ in Excel)
            pl.when(pl.col(metric_name("conviction")).is_infinite()).then(None)
            .otherwise(pl.col(metric_name("conviction"))).alias(metric_name("conviction")))
        st.dataframe(table.head(RULES_SHOWN).select(table.columns[:2] + [metric_name(n) for n in RULE_METRICS_SHOWN]),
                     hide_index=True, key="xs_rules_table", column_config={
            column("antecedents"): st.column_config.TextColumn(help=t("cross_sell.column_help.antecedents")),
            column("consequents"): st.column_config.TextColumn(help=t("cross_sell.column_help.consequents")),
            **metric_columns(RULE_METRICS_SHOWN)})
        st.caption(t("cross_sell.page.rules_caption", shown=number(min(found.height, RULES_SHOWN)),
                     found=number(found.height), baskets=number(overview["baskets"]),
                     basket_kind=t(f"cross_sell.page.basket_kind.{by}"))
                   + (" " + t("cross_sell.page.conviction_blank") if found["conviction"].is_infinite().any() else ""))
        widgets.downloads(table, f"rules_{level}_{by}", "xs_rules_dl")

with metrics_box:
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(t("cross_sell.page.metric_baskets"), number(overview["baskets"]), border=True,
              help=t(f"cross_sell.page.metric_baskets_help.{by}", as_of=format_date(ctx.as_of, language)))
    m2.metric(t("cross_sell.page.metric_multi"), percent(overview["multi"] / overview["baskets"]), border=True,
              help=t("cross_sell.page.metric_multi_help", baskets=number(overview["multi"])))
    m3.metric(t(f"cross_sell.page.metric_items.{level}"), number(len(items)), border=True)
    m4.metric(t("cross_sell.page.metric_rules"), number(rules.height), border=True,
              help=t("cross_sell.page.metric_rules_help"))

# ---------------------------------------------------------------- affinity
with tabs["affinity"]:
    n_items = len(items)
    if n_items < 2:
        st.info(t("cross_sell.page.one_item", level=level_word))
    else:
        top = n_items if n_items <= 3 else widgets.slider(
            t("cross_sell.page.top_label"), 3, min(30, n_items), "xs_top", min(15, n_items), step=1,
            help=t("cross_sell.page.top_help"))
        matrix = affinity(ctx.dataset, ctx.as_of, level, by, top)
        names = list(dict.fromkeys(matrix["item_a"].to_list()))
        cells = {(a_, b_): (lift, support, confidence) for a_, b_, lift, support, confidence in matrix.iter_rows()}
        z = [[cells[(row, col)][0] for col in names] for row in names]
        hover = [[t("cross_sell.page.heat_hover", a=row, b=col, lift=f"{cells[(row, col)][0]:.2f}",
                    confidence=percent(cells[(row, col)][2]), support=percent(cells[(row, col)][1]))
                  if cells[(row, col)][0] is not None
                  else (row if row == col else t("cross_sell.page.heat_never", a=row, b=col))
                  for col in names] for row in names]
        st.plotly_chart(xs_charts.lift_heatmap(
            names, z, title=t("cross_sell.page.heat_title", n=len(names), level=level_word),
            x_title=t("cross_sell.page.heat_x"), y_title=t("cross_sell.page.heat_y"),
            colorbar_title=metric_name("lift"), hover=hover), width="stretch", key="xs_heatmap")
        st.caption(t("cross_sell.page.heat_caption", basket_kind=t(f"cross_sell.page.basket_kind.{by}")))

# ---------------------------------------------------------------- customers who buy this also buy
with tabs["also"]:
    left, right = st.columns([3, 1])
    item = widgets.selectbox(t("cross_sell.page.item_label", level=level_name), items, "xs_item", container=left,
                             help=t("cross_sell.page.item_help"))
    top_n = widgets.slider(t("cross_sell.page.also_n_label"), 3, 30, "xs_n", 10, step=1, container=right)
    holders = int(overview["items"].filter(pl.col("item") == item)["baskets"].sum())
    others = together(ctx.dataset, ctx.as_of, level, by, item, top_n)
    st.subheader(t(f"cross_sell.page.also_title.{by}", item=item))
    st.caption(t(f"cross_sell.page.also_caption.{by}", holders=number(holders), item=item,
                 share=percent(holders / overview["baskets"])))
    if others.height == 0:
        st.info(t("cross_sell.page.also_none", item=item))
    else:
        labels = others["item"].to_list()
        hover = [t(f"cross_sell.page.also_hover.{by}", other=other, item=item, together=number(n), share=percent(share),
                   base=percent(base), lift=f"{lift:.2f}")
                 for other, n, share, base, lift in others.iter_rows()]
        st.plotly_chart(xs_charts.also_bought_bars(
            labels, others["share"].to_list(), others["base_share"].to_list(),
            title=None, x_title=t("cross_sell.page.also_x"),
            share_name=t(f"cross_sell.page.also_share.{by}", item=item), base_name=t(f"cross_sell.page.also_base.{by}"),
            hover=hover), width="stretch", key="xs_also_chart")
        share_header = t(f"cross_sell.page.also_share.{by}", item=item)
        base_header = t(f"cross_sell.page.also_base.{by}")
        also_table = others.rename({"item": level_name, "together": column("together"), "share": share_header,
                                    "base_share": base_header, "lift": metric_name("lift")})
        st.dataframe(also_table, hide_index=True, key="xs_also_table", column_config={
            column("together"): st.column_config.NumberColumn(format="localized",
                                                              help=t(f"cross_sell.column_help.together_{by}")),
            share_header: st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0,
                                                          help=t(f"cross_sell.column_help.share_{by}")),
            base_header: st.column_config.NumberColumn(format="percent",
                                                       help=t(f"cross_sell.column_help.base_share_{by}")),
            metric_name("lift"): st.column_config.NumberColumn(format="%.2f", help=t("cross_sell.metric_help.lift")),
        })

# ---------------------------------------------------------------- recommendations
with tabs["offers"]:
    a, b, c = st.columns([1, 2, 1])
    scope = widgets.radio(t("cross_sell.page.scope_label"), ["customer", "segment"], "xs_scope", container=a,
                          format_func=lambda v: t(f"cross_sell.page.scope.{v}"))
    k = widgets.slider(t("cross_sell.page.k_label"), 1, 10, "xs_k", 5, step=1, container=c,
                       help=t("cross_sell.page.k_help"))
    if scope == "customer":
        ids, names = customer_choices(ctx.dataset, ctx.as_of)
        if len(ids) <= CUSTOMER_PICKER_MAX:
            target = widgets.selectbox(t("cross_sell.page.customer_label"), ids, "xs_customer", container=b,
                                       format_func=lambda c_: f"{c_} · {names[c_]}" if c_ in names else c_,
                                       help=t("cross_sell.page.customer_help"))
        else:
            target = widgets.text_input(t("cross_sell.page.customer_label"), "xs_customer", ids[0], container=b,
                                        help=t("cross_sell.page.customer_typed_help")).strip() or ids[0]
    else:
        people = segmented(ctx.dataset, ctx.as_of)
        sizes = dict(people.group_by("segment").agg(pl.len()).iter_rows())
        present = [key for key in PRESETS[SEGMENT_PRESET].segments if key in sizes]
        target = widgets.selectbox(t("cross_sell.page.segment_label"), present, "xs_segment", container=b,
                                   format_func=lambda s: t("cross_sell.page.segment_option",
                                                           segment=t(f"segmentation.segment.{s}"),
                                                           customers=number(sizes[s])),
                                   help=t("cross_sell.page.segment_help"))
    recommended, asked = offers(ctx.dataset, ctx.as_of, scope, target, k, level, by, min_support, max_len,
                                min_confidence, min_lift)
    st.caption(t("cross_sell.page.offers_caption", rules=number(RULES_FOR_OFFERS)))
    if scope == "customer":
        had = purchases_of(ctx.dataset, ctx.as_of, level, target)
        st.caption(t("cross_sell.page.already", customer=target, items=t("cross_sell.page.list_sep").join(had))
                   if had else t("cross_sell.page.no_history", customer=target, as_of=format_date(ctx.as_of, language)))
    else:
        segment_name = t(f"segmentation.segment.{target}")
        st.caption(t("cross_sell.page.segment_caption", customers=number(min(asked, SEGMENT_CAP)), segment=segment_name,
                     as_of=format_date(ctx.as_of, language)))
        if asked > SEGMENT_CAP:
            st.warning(t("cross_sell.page.segment_capped", cap=number(SEGMENT_CAP), customers=number(asked)),
                       icon=":material/content_cut:")
    if recommended.height == 0:
        st.info(t("cross_sell.page.no_offers"))
    else:
        rendered = with_reasons(recommended)
        sources = {source: t(f"cross_sell.source.{source}") for source in SOURCES}
        if scope == "segment":
            popular = (rendered.group_by("item").agg(pl.len().alias("customers"), pl.col("expected_value").sum())
                       .sort(["customers", "expected_value", "item"], descending=[True, True, False]).head(15))
            st.plotly_chart(charts.bar(
                popular["item"].to_list(), popular["customers"].to_list(),
                title=t("cross_sell.page.offer_mix_title", segment=segment_name, k=k),
                value_title=t("cross_sell.page.offer_mix_x"),
                hover_extra=[t("cross_sell.page.offer_mix_hover", value=format_money(v, language, ctx.currency, compact=True))
                             for v in popular["expected_value"].to_list()]), width="stretch", key="xs_offer_mix")
        else:
            if recommended.height < k:
                st.caption(t("cross_sell.page.offers_fewer", n=recommended.height, k=k, customer=target))
            for rank, item_name, probability, value, source, reason in rendered.select(
                    "rank", "item", "probability", "expected_value", "source", "reason").iter_rows():
                with st.container(border=True):
                    st.markdown(t("cross_sell.page.offer_line", rank=rank, item=markdown_text(item_name),
                                  source=sources[source], probability=percent(probability),
                                  value=format_money(value, language, ctx.currency)))
                    st.caption(markdown_text(reason))
        offer_table = rendered.select(
            pl.col("customer_id").alias(column("customer_id")),
            pl.col("rank").alias(column("rank")),
            pl.col("item").alias(level_name),
            pl.col("probability").alias(column("probability")),
            pl.col("expected_value").alias(column("expected_value")),
            pl.col("source").replace_strict(sources, return_dtype=pl.String).alias(column("source")),
            pl.col("reason").alias(column("reason")),
        )
        if scope == "segment":
            linked, config = widgets.customer_links(offer_table, column("customer_id"), {
                column("rank"): st.column_config.NumberColumn(format="%d", width="small"),
                level_name: st.column_config.TextColumn(width="medium"),
                column("probability"): st.column_config.NumberColumn(
                    format="percent", help=t("cross_sell.column_help.probability")),
                column("expected_value"): st.column_config.NumberColumn(
                    format=MONEY_FORMAT, help=t("cross_sell.column_help.expected_value")),
                column("source"): st.column_config.TextColumn(help=t("cross_sell.column_help.source")),
                column("reason"): st.column_config.TextColumn(width="large", help=t("cross_sell.column_help.reason")),
            })
            st.dataframe(linked, hide_index=True, key="xs_offers_table", column_config=config)
        widgets.downloads(offer_table, f"recommendations_{scope}_{target}", "xs_offers_dl",
                          money=[column("expected_value")])

# ---------------------------------------------------------------- target list
with tabs["targets"]:
    st.caption(t("cross_sell.page.targets_intro", level=level_word))
    left, right = st.columns(2)
    wanted = widgets.multiselect(t("cross_sell.page.bought_label"), items, "xs_bought", container=left,
                                 placeholder=t("cross_sell.page.bought_placeholder"),
                                 help=t("cross_sell.page.bought_help"))
    excluded = widgets.multiselect(t("cross_sell.page.not_label"), items, "xs_not", container=right,
                                   placeholder=t("cross_sell.page.not_placeholder"), help=t("cross_sell.page.not_help"))
    if not wanted:
        st.info(t("cross_sell.page.targets_pick"), icon=":material/checklist:")
        pairs = rules.filter((pl.col("antecedents").list.len() == 1) & (pl.col("consequents").list.len() == 1))
        if pairs.height:
            strongest = pairs.row(0, named=True)  # rules come sorted by lift, strongest first
            st.caption(t("cross_sell.page.targets_tip", a=strongest["antecedents"][0], b=strongest["consequents"][0],
                         lift=f"{strongest['lift']:.1f}", confidence=percent(strongest["confidence"])))
    else:
        listed = targets(ctx.dataset, ctx.as_of, level, tuple(wanted), tuple(excluded))
        if listed.height == 0:
            st.info(t("cross_sell.page.targets_none"), icon=":material/person_off:")
        else:
            m1, m2, m3 = st.columns(3)
            m1.metric(t("cross_sell.page.targets_customers"), number(listed.height), border=True)
            m2.metric(t("cross_sell.page.targets_revenue"),
                      format_money(float(listed["revenue"].sum()), language, ctx.currency, compact=True),
                      border=True, help=t("cross_sell.page.targets_revenue_help"))
            m3.metric(t("cross_sell.page.targets_avg"), format_money(float(listed["revenue"].mean()), language, ctx.currency),
                      border=True)
            profile_headers = {name: t(f"segmentation.page.profile.{name}")
                               for name in PROFILE if name in listed.columns}
            target_table = listed.with_columns(pl.col("last_order").dt.date()).rename(
                {"customer_id": column("customer_id"), **profile_headers, "bought_items": column("bought_items"),
                 "revenue": column("revenue"), "orders": column("orders"), "last_order": column("last_order")})
            linked, config = widgets.customer_links(target_table, column("customer_id"), {
                column("bought_items"): st.column_config.TextColumn(help=t("cross_sell.column_help.bought_items")),
                column("revenue"): st.column_config.NumberColumn(format=MONEY_FORMAT,
                                                                 help=t("cross_sell.column_help.revenue")),
                column("orders"): st.column_config.NumberColumn(format="localized"),
                column("last_order"): st.column_config.DateColumn(format="YYYY-MM-DD"),
            })
            st.dataframe(linked, hide_index=True, key="xs_targets_table", column_config=config)
            widgets.downloads(target_table, f"targets_{level}", "xs_targets_dl", money=[column("revenue")])

with notices:
    shell.show_notices()
