"""Drawing of the Cross-sell page's results.

The rules table, the affinity map, "also bought", the recommender's model card, offers and the target list.
Streamlit drawing only: every number comes ready from :mod:`crm_core.views.cross_sell`; here the texts are
translated, numbers formatted and headers named.
"""
from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from crm_core import charts
from crm_core.charts import cross_sell as xs_charts
from crm_core.views.cross_sell import (
    BASKET_SUPPORT,
    PROFILE,
    RULE_METRICS_DOWNLOADED,
    RULE_METRICS_SHOWN,
    SOURCES,
    AffinityMap,
    AlsoBought,
    Offers,
    RecommenderCard,
    RuleView,
    TargetList,
    offer_table,
)
from ui import widgets
from ui.i18n import format_date, format_money, format_number, format_percent, money_column_format
from ui.state import lang, t
from ui.text import plain, t_plain

METRIC_FORMATS = {"support": "percent", "confidence": "percent", "lift": "%.2f", "leverage": "%.4f",
                  "conviction": "%.2f", "zhangs_metric": "%.2f", "support_count": "localized",
                  "antecedent_count": "localized", "baskets": "localized"}


def column(name: str) -> str:
    return t(f"cross_sell.column.{name}")


def metric_name(name: str) -> str:
    return t(f"cross_sell.metric.{name}")


def number(value) -> str:
    return format_number(value, lang())


def percent(value) -> str:
    return format_percent(value, lang())


def metric_columns(names: Iterable[str]) -> dict:
    """Column formats and help texts of rule metrics (keys: the translated headers)."""
    return {metric_name(name): st.column_config.NumberColumn(format=METRIC_FORMATS[name],
                                                             help=t(f"cross_sell.metric_help.{name}"))
            for name in names}


def rules_table(found: RuleView, baskets: int, level: str, by: str) -> None:
    """The matching rules (the first ``RULES_SHOWN`` on screen), their caption and the download of all."""
    headers = {"antecedents": column("antecedents"), "consequents": column("consequents"),
               **{name: metric_name(name) for name in RULE_METRICS_SHOWN + RULE_METRICS_DOWNLOADED}}
    st.dataframe(found.on_screen.rename(headers, strict=False), hide_index=True, key="xs_rules_table", column_config={
        column("antecedents"): st.column_config.TextColumn(help=t("cross_sell.column_help.antecedents")),
        column("consequents"): st.column_config.TextColumn(help=t("cross_sell.column_help.consequents")),
        **metric_columns(RULE_METRICS_SHOWN)})
    st.caption(t("cross_sell.page.rules_caption", shown=number(found.shown), found=number(found.found),
                 baskets=number(baskets), basket_kind=t(f"cross_sell.page.basket_kind.{by}"))
               + (" " + t("cross_sell.page.conviction_blank") if found.conviction_blank else ""))
    widgets.downloads(found.table.rename(headers), f"rules_{level}_{by}", "xs_rules_dl")


def affinity_map(grid: AffinityMap, level_word: str, by: str) -> None:
    """The lift heatmap of ``row → column``, with each cell's numbers on hover."""
    items = grid.items

    def hover(i: int, j: int) -> str:
        row, col = items[i], items[j]
        if grid.lift[i][j] is not None:
            return t("cross_sell.page.heat_hover", a=row, b=col, lift=f"{grid.lift[i][j]:.2f}",
                     confidence=percent(grid.confidence[i][j]), support=percent(grid.support[i][j]))
        return row if row == col else t("cross_sell.page.heat_never", a=row, b=col)

    st.plotly_chart(xs_charts.lift_heatmap(
        items, grid.lift, title=t("cross_sell.page.heat_title", n=len(items), level=level_word),
        x_title=t("cross_sell.page.heat_x"), y_title=t("cross_sell.page.heat_y"), colorbar_title=metric_name("lift"),
        hover=[[hover(i, j) for j in range(len(items))] for i in range(len(items))]),
        width="stretch", key="xs_heatmap")
    st.caption(t("cross_sell.page.heat_caption", basket_kind=t(f"cross_sell.page.basket_kind.{by}")))


def also_bought(found: AlsoBought, level_name: str, by: str) -> None:
    """"Customers who buy this also buy": the title, caption, bars and table."""
    item, others = found.item, found.others
    st.subheader(t_plain(f"cross_sell.page.also_title.{by}", item=item))
    st.caption(t_plain(f"cross_sell.page.also_caption.{by}", holders=number(found.holders), item=item,
                 share=percent(found.holder_share)))
    if others.height == 0:
        st.info(t_plain("cross_sell.page.also_none", item=item))
        return
    share_header = t(f"cross_sell.page.also_share.{by}", item=item)
    base_header = t(f"cross_sell.page.also_base.{by}")
    hover = [t(f"cross_sell.page.also_hover.{by}", other=other, item=item, together=number(n), share=percent(share),
               base=percent(base), lift=f"{lift:.2f}")
             for other, n, share, base, lift in others.iter_rows()]
    st.plotly_chart(xs_charts.also_bought_bars(
        others["item"].to_list(), others["share"].to_list(), others["base_share"].to_list(), title=None,
        x_title=t("cross_sell.page.also_x"), share_name=share_header, base_name=base_header, hover=hover),
        width="stretch", key="xs_also_chart")
    table = others.rename({"item": level_name, "together": column("together"), "share": share_header,
                           "base_share": base_header, "lift": metric_name("lift")})
    st.dataframe(table, hide_index=True, key="xs_also_table", column_config={
        column("together"): st.column_config.NumberColumn(format="localized",
                                                          help=t(f"cross_sell.column_help.together_{by}")),
        share_header: st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0,
                                                      help=t(f"cross_sell.column_help.share_{by}")),
        base_header: st.column_config.NumberColumn(format="percent", help=t(f"cross_sell.column_help.base_share_{by}")),
        metric_name("lift"): st.column_config.NumberColumn(format="%.2f", help=t("cross_sell.metric_help.lift")),
    })


def recommender_verdict(card: RecommenderCard) -> None:
    """The card's verdict in words, above the recommendations: a warning when they fall back to popularity."""
    language = lang()
    level = t(f"cross_sell.level_word.{card.level}")
    rows = card.rows()
    if card.verdict in ("beats", "falls_back") and rows:
        (_, ours, _), (_, baseline, _) = rows
        sentence = t(f"cross_sell.page.card.verdict.{card.verdict}", ours=percent(ours), baseline=percent(baseline),
                     k=card.k, days=number(card.horizon_days))
        if card.verdict == "beats":
            st.success(sentence, icon=":material/verified:")
        else:
            st.warning(sentence, icon=":material/swap_vert:")
    elif card.verdict == "too_few":
        st.info(t("cross_sell.page.card.verdict.too_few", customers=number(card.customers),
                  days=number(card.horizon_days)), icon=":material/help:")
    elif card.cutoff is None:
        st.info(t("cross_sell.page.card.verdict.unmeasured_short"), icon=":material/help:")
    else:
        st.info(t("cross_sell.page.card.verdict.unmeasured", level=level, days=number(card.horizon_days),
                  end=format_date(card.end, language)), icon=":material/help:")


def recommender_card(card: RecommenderCard) -> None:
    """The model card: hit@k and recall@k of ours and of popularity, the cut-off and who was checked."""
    found, rows = card.evaluation, card.rows()
    level = t(f"cross_sell.level_plural.{card.level}")
    support = format_percent(BASKET_SUPPORT, lang(), 0)
    with st.expander(t("cross_sell.page.card.title"), icon=":material/fact_check:"):
        if found is not None and card.cutoff is not None and rows:
            k = card.k
            hit, recall = t("cross_sell.page.card.column_hit", k=k), t("cross_sell.page.card.column_recall", k=k)
            st.dataframe({
                t("cross_sell.page.card.column_method"): [t(f"cross_sell.method.{method}") for method, _, _ in rows],
                hit: [value for _, value, _ in rows],
                recall: [value for _, _, value in rows],
            }, hide_index=True, key="xs_card_table", column_config={
                hit: st.column_config.NumberColumn(format="percent", help=t("cross_sell.page.card.help_hit", k=k)),
                recall: st.column_config.NumberColumn(format="percent", help=t("cross_sell.page.card.help_recall",
                                                                                 k=k, level=level)),
            })
            language = lang()
            st.caption(t("cross_sell.page.card.caption", cutoff=format_date(card.cutoff, language),
                         end=format_date(card.end, language), days=number(card.horizon_days), k=k, level=level,
                         customers=number(found.customers))
                       + (" " + t("cross_sell.page.card.sampled", eligible=number(found.eligible))
                          if card.sampled else ""))
        st.caption(t(f"cross_sell.page.card.basket_{card.by}", level=level, support=support))


def offers(found: Offers, level_name: str, currency: str | None) -> None:
    """Recommendations: a segment's offer mix and table, or one customer's cards; the download of both."""
    language = lang()
    reasons = [t(key, **params) for key, params in found.reasons]
    sources = {source: t(f"cross_sell.source.{source}") for source in SOURCES}
    if found.scope == "segment":
        mix = found.mix
        st.plotly_chart(charts.bar(
            mix["item"].to_list(), mix["customers"].to_list(),
            title=t("cross_sell.page.offer_mix_title", segment=t(f"segmentation.segment.{found.target}"), k=found.k),
            value_title=t("cross_sell.page.offer_mix_x"),
            hover_extra=[t("cross_sell.page.offer_mix_hover", value=format_money(v, language, currency, compact=True))
                         for v in mix["expected_value"].to_list()]), width="stretch", key="xs_offer_mix")
    else:
        if found.fewer:
            st.caption(t_plain("cross_sell.page.offers_fewer", n=found.count, k=found.k, customer=found.target))
        for rank, item_name, probability, value, source, reason_id in found.cards():
            with st.container(border=True):
                st.markdown(t("cross_sell.page.offer_line", rank=rank, item=plain(item_name),
                              source=sources[source], probability=percent(probability),
                              value=format_money(value, language, currency)))
                st.caption(plain(reasons[reason_id]))
    table = offer_table(found, reasons, sources).rename({
        "customer_id": column("customer_id"), "rank": column("rank"), "item": level_name,
        "probability": column("probability"), "expected_value": column("expected_value"),
        "source": column("source"), "reason": column("reason")})
    if found.scope == "segment":
        linked, config = widgets.customer_links(table, column("customer_id"), {
            column("rank"): st.column_config.NumberColumn(format="%d", width="small"),
            level_name: st.column_config.TextColumn(width="medium"),
            column("probability"): st.column_config.NumberColumn(
                format="percent", help=t("cross_sell.column_help.probability")),
            column("expected_value"): st.column_config.NumberColumn(
                format=money_column_format(language, currency), help=t("cross_sell.column_help.expected_value")),
            column("source"): st.column_config.TextColumn(help=t("cross_sell.column_help.source")),
            column("reason"): st.column_config.TextColumn(width="large", help=t("cross_sell.column_help.reason")),
        })
        st.dataframe(linked, hide_index=True, key="xs_offers_table", column_config=config)
    widgets.downloads(table, f"recommendations_{found.scope}_{found.target}", "xs_offers_dl",
                      money=[column("expected_value")])


def target_list(listed: TargetList, level: str, currency: str | None) -> None:
    """The call list's headline numbers, table and download."""
    language = lang()
    m1, m2, m3 = st.columns(3)
    m1.metric(t("cross_sell.page.targets_customers"), number(listed.customers), border=True)
    m2.metric(t("cross_sell.page.targets_revenue"), format_money(listed.revenue, language, currency, compact=True),
              border=True, help=t("cross_sell.page.targets_revenue_help"))
    m3.metric(t("cross_sell.page.targets_avg"), format_money(listed.average_revenue, language, currency), border=True)
    profile_headers = {name: t(f"segmentation.page.profile.{name}") for name in PROFILE if name in listed.profile}
    table = listed.table.rename({"customer_id": column("customer_id"), **profile_headers,
                                 "bought_items": column("bought_items"), "revenue": column("revenue"),
                                 "orders": column("orders"), "last_order": column("last_order")})
    linked, config = widgets.customer_links(table, column("customer_id"), {
        column("bought_items"): st.column_config.TextColumn(help=t("cross_sell.column_help.bought_items")),
        column("revenue"): st.column_config.NumberColumn(format=money_column_format(language, currency),
                                                         help=t("cross_sell.column_help.revenue")),
        column("orders"): st.column_config.NumberColumn(format="localized"),
        column("last_order"): st.column_config.DateColumn(format="YYYY-MM-DD"),
    })
    st.dataframe(linked, hide_index=True, key="xs_targets_table", column_config=config)
    widgets.downloads(table, f"targets_{level}", "xs_targets_dl", money=[column("revenue")])
