"""Drawing of the Churn risk page's self-contained parts.

The gate's explanation, the headline figures, the customer lists, the breakdowns, the capacity curve and
the model card. The numbers come ready from :mod:`crm_core.views.churn`; here they are translated,
formatted and drawn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import streamlit as st

from crm_core.charts import churn as churn_charts
from crm_core.views import churn as core
from ui import base, widgets
from ui.i18n import format_date, format_money, format_number, format_percent, money_column_format, money_formatter
from ui.state import t

ROW_PIXELS = 35                         # st.dataframe row height: group tables show every row
LIST_PIXELS, CALLS_PIXELS = 460, 360    # at most this tall: the at-risk list and the call list scroll
LIST_PAGE_ROWS = 500                    # the at-risk list is paged on the server: a page goes to the browser


@dataclass(frozen=True)
class Formats:
    """Numbers, money and dates in the reader's language and the data's currency."""

    language: str
    currency: str | None

    def money(self, value: Any, compact: bool = False) -> str:
        return format_money(value, self.language, self.currency, compact=compact)

    def number(self, value: Any, decimals: int = 0) -> str:
        return format_number(value, self.language, decimals)

    def percent(self, value: Any) -> str:
        return format_percent(value, self.language)

    def date(self, value: Any) -> str:
        return format_date(value, self.language)

    @property
    def money_column(self) -> str:
        return money_column_format(self.language, self.currency)


def tier_name(key: str | None) -> str:
    return t(f"churn.tier.{key}") if key else "–"


def column(name: str) -> str:
    return t(f"churn.column.{name}")


def text(item: core.Text) -> str:
    return t(item.key, **item.params)


def value_help(view: core.RiskView) -> str:
    source = view.value_source
    return t("churn.page.expected_value_help", source=t(f"churn.value_source.{source}") if source else "–")


def _plain(label: str, value: str, container: Any, **extra: Any) -> None:
    """A bordered metric whose delta is a neutral note (no colour, no arrow)."""
    container.metric(label, value, border=True, delta_color="off", delta_arrow="off", **extra)


# ---------------------------------------------------------------- gate and headline

def gate_failed(gate: core.Gate) -> None:
    """Why there is no model yet: each check, what would fix the failing ones, horizons that would pass."""
    st.warning(t("churn.sufficiency.failed"), icon=":material/rule:")
    lines = []
    for check in gate.checks:
        sentence = t(check.key, actual=check.actual, required=check.required)
        lines.append(f"- :green[:material/check:] {sentence}" if check.ok
                     else f"- :red[:material/close:] **{sentence}** — {t(check.hint)}")
    st.markdown("\n".join(lines))
    if gate.other_horizons:
        st.caption(t("churn.page.other_horizons", horizons=t("churn.page.list_sep").join(
            t("churn.page.days", days=days) for days in gate.other_horizons)))
    st.caption(text(gate.rules))


def headline(view: core.RiskView, as_of: datetime, amounts: bool, fmt: Formats) -> Any:
    """The four headline metrics; returns the slot of the backtest's AUC (filled by :func:`auc_metric`)."""
    figures, tier_help = view.headline, text(view.tier_help)
    a, b, c, d = st.columns(4)
    _plain(t("churn.page.metric.customers"), fmt.number(figures.customers), a,
           help=t("churn.page.metric.customers_help"),
           delta=t("churn.page.metric.customers_delta", as_of=fmt.date(as_of)))
    _plain(t("churn.page.metric.high"), fmt.number(figures.high), b, help=tier_help,
           delta=t("churn.page.share_of_customers", share=fmt.percent(figures.high_share)))
    if not view.with_model:
        _plain(t("churn.page.metric.flagged"), fmt.number(figures.flagged), c, help=t("churn.page.flags_help"),
               delta=t("churn.page.share_of_customers", share=fmt.percent(figures.flagged_share)))
        _plain(t("churn.column.risk_source"), t("churn.page.metric.rules_value"), d, help=tier_help,
               delta=t("churn.page.metric.rules_delta"))
        return None
    if amounts:
        _plain(t("churn.page.metric.value_at_risk"), fmt.money(figures.value_at_risk, compact=True), c,
               delta=t("churn.page.metric.value_delta", share=fmt.percent(figures.value_share)),
               help=t("churn.page.value_at_risk_help") + " " + value_help(view))
    else:
        base.needs_amounts(c)
    slot = d.empty()  # filled once the backtest (computed last, after the rest has painted) is in
    slot.metric(t("churn.page.metric.auc"), "…", border=True, help=t("churn.page.metric.auc_help"))
    return slot


# ---------------------------------------------------------------- customer lists

def _list_columns(view: core.RiskView, fmt: Formats) -> dict:
    return {
        column("customer_id"): st.column_config.TextColumn(pinned=True),
        column("risk_tier"): st.column_config.TextColumn(width="small"),
        column("churn_probability"): st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0,
                                                                     width="small"),
        column("value_at_risk"): st.column_config.NumberColumn(format=fmt.money_column,
                                                               help=t("churn.page.value_at_risk_help")),
        column("expected_value"): st.column_config.NumberColumn(format=fmt.money_column, help=value_help(view)),
        column("flag_count"): st.column_config.NumberColumn(format="%d", width="small"),
        column("reasons"): st.column_config.TextColumn(width="large", help=t("churn.page.reasons_help")),
        column("flags"): st.column_config.TextColumn(width="medium", help=t("churn.page.flags_help")),
        column("action"): st.column_config.TextColumn(width="medium"),
        column("recency_days"): st.column_config.NumberColumn(format="%d", width="small"),
        column("frequency"): st.column_config.NumberColumn(format="%d", width="small"),
    }


def _customer_table(view: core.RiskView, table: Any, key: str, most_pixels: int, basename: str, download_key: str,
                    fmt: Formats, whole: Any = None) -> None:
    """A customer list that opens Customer 360, with its CSV and Excel downloads (of ``whole`` when the
    table is one page of it)."""
    linked, config = widgets.customer_links(table, column("customer_id"), _list_columns(view, fmt))
    st.dataframe(linked, hide_index=True, column_config=config, key=key,
                 height=min(most_pixels, ROW_PIXELS * (table.height + 1) + 3))
    widgets.downloads(table if whole is None else whole, basename, download_key, container=st.columns([2, 3])[0],
                      money=[column("value_at_risk"), column("expected_value")])


def risk_list(view: core.RiskView, listing: core.RiskList, amounts: bool, fmt: Formats) -> None:
    """The at-risk list of the chosen tiers (``listing``, :func:`ui.views.churn.risk_list`), with its caption
    and downloads."""
    if listing.customers == 0:
        st.info(t("churn.page.empty_filter"), icon=":material/filter_alt_off:")
        return
    if view.with_model and not amounts:
        st.caption(t("churn.page.base.list_no_amounts", customers=fmt.number(listing.customers)))
    elif view.with_model:
        st.caption(t("churn.page.list_caption", customers=fmt.number(listing.customers),
                     value=fmt.money(listing.value_at_risk)))
    else:
        st.caption(t("churn.page.list_caption_rules", customers=fmt.number(listing.customers)))
    table = listing.table
    pages = max(1, math.ceil(table.height / LIST_PAGE_ROWS))
    number = 1
    if (st.session_state.get("ch_list_page") or 1) > pages:  # a narrower choice of tiers has fewer pages
        st.session_state["ch_list_page"] = 1
    if pages > 1:
        number = widgets.number_input(t("churn.page.list_page", pages=fmt.number(pages)), 1, pages, "ch_list_page", 1,
                                      step=1, container=st.columns([1, 4])[0])
        first = (number - 1) * LIST_PAGE_ROWS
        st.caption(t("churn.page.list_rows", first=fmt.number(first + 1),
                     last=fmt.number(min(first + LIST_PAGE_ROWS, table.height)), total=fmt.number(table.height)))
    shown = table.slice((number - 1) * LIST_PAGE_ROWS, LIST_PAGE_ROWS)
    _customer_table(view, shown, "ch_list", LIST_PIXELS, "churn_risk", "ch_list_dl", fmt, whole=table)
    st.caption(t("churn.page.list_note") + (" " + t("churn.page.masked") if view.has_phone else ""))


def call_list(view: core.RiskView, calls: Any, capacity: int, fmt: Formats) -> None:
    """The ``capacity`` customers to call first (``calls``, :func:`ui.views.churn.call_list`)."""
    st.subheader(t("churn.page.call_list_title", customers=fmt.number(capacity)))
    if calls.height == 0:
        st.info(t("churn.page.call_list_empty"), icon=":material/call:")
    else:
        _customer_table(view, calls, "ch_calls", CALLS_PIXELS, f"churn_call_list_{capacity}", "ch_call_dl", fmt)


# ---------------------------------------------------------------- breakdown

def breakdown(view: core.RiskView, by: core.Breakdown, labels: dict, title: str, first_header: str,
              fmt: Formats) -> None:
    """Risk tiers per segment or region: stacked shares and a table."""
    names = [labels.get(key, key) if key is not None else t("churn.page.unknown") for key in by.keys]
    tiers = {tier: tier_name(tier) for tier in core.TIERS}
    hover = {tiers[tier]: [t("churn.page.tier_hover", group=name, tier=tiers[tier], customers=fmt.number(n),
                             share=fmt.percent(share), total=fmt.number(total))
                           for name, n, share, total
                           in zip(names, by.tiers[tier], by.shares[tier], by.customers, strict=True)]
             for tier in core.TIERS}
    st.plotly_chart(churn_charts.tier_share_bars(
        names, {tiers[tier]: list(by.shares[tier]) for tier in core.TIERS},
        {tiers[tier]: churn_charts.TIER_COLOURS[tier] for tier in core.TIERS}, title=title,
        value_title=t("churn.page.share_of_group"), hover=hover), width="stretch", key=f"ch_by_{by.by}")
    shown = {
        first_header: names,
        t("churn.page.by_column.customers"): list(by.customers),
        t("churn.page.by_column.high"): list(by.tiers["high"]),
        t("churn.page.by_column.high_share"): list(by.shares["high"]),
        **({t("churn.page.by_column.mean_probability"): list(by.mean_probability),
            column("value_at_risk"): list(by.value_at_risk)} if view.with_model
           else {t("churn.page.by_column.mean_flags"): list(by.mean_flags)}),
    }
    st.dataframe(shown, hide_index=True, key=f"ch_by_{by.by}_table", height=ROW_PIXELS * (len(names) + 1) + 3,
                 column_config={
        t("churn.page.by_column.customers"): st.column_config.NumberColumn(format="localized"),
        t("churn.page.by_column.high"): st.column_config.NumberColumn(format="localized"),
        t("churn.page.by_column.high_share"): st.column_config.ProgressColumn(format="percent", min_value=0.0,
                                                                              max_value=1.0),
        t("churn.page.by_column.mean_probability"): st.column_config.NumberColumn(format="percent"),
        column("value_at_risk"): st.column_config.NumberColumn(format=fmt.money_column),
        t("churn.page.by_column.mean_flags"): st.column_config.NumberColumn(format="%.2f"),
    })


def flag_summary(view: core.RiskView, fmt: Formats) -> None:
    """How many customers raise each warning flag, its rule, and whether the data can raise it."""
    st.subheader(t("churn.page.flags_title"))
    labels = [t(f"churn.flag.{row.name}") for row in view.flags]
    counts = [row.customers for row in view.flags]
    st.plotly_chart(churn_charts.flag_bars(
        labels, counts, [fmt.number(n) for n in counts], title=t("churn.page.flags_chart"),
        value_title=t("churn.page.by_column.customers"),
        hover=[t("churn.page.flag_hover", flag=label, customers=fmt.number(row.customers), share=fmt.percent(row.share))
               for label, row in zip(labels, view.flags, strict=True)]), width="stretch", key="ch_flags")
    st.table({  # a static table, so the rules wrap and read in full
        t("churn.page.flag_column.flag"): labels,
        t("churn.page.by_column.customers"): [fmt.number(n) for n in counts],
        t("churn.page.flag_column.share"): [fmt.percent(row.share) for row in view.flags],
        t("churn.page.flag_column.rule"): [t(f"churn.flag_help.{row.name}", **row.rule) for row in view.flags],
        t("churn.page.flag_column.data"): [t(f"churn.page.flag_data.{row.data}") for row in view.flags],
    }, hide_index=True)
    st.caption(t("churn.page.flags_note"))


# ---------------------------------------------------------------- capacity

def capacity(point: core.Capacity, fmt: Formats) -> None:
    """What calling ``point.contacted`` customers is worth, and the curve over every capacity."""
    rate = point.save_rate
    a, b, c = st.columns(3)
    _plain(t("churn.capacity.contacted"), fmt.number(point.contacted), a,
           delta=t("churn.page.share_of_customers", share=fmt.percent(point.share_of_customers)))
    _plain(t("churn.capacity.value_at_risk"), fmt.money(point.value_at_risk, compact=True), b,
           delta=t("churn.page.share_of_value", share=fmt.percent(point.share_of_value)),
           help=t("churn.page.value_at_risk_help"))
    _plain(t("churn.capacity.expected_revenue_saved"), fmt.money(point.saved, compact=True), c,
           help=t("churn.page.saved_help", rate=rate), delta=t("churn.page.at_save_rate", rate=rate))
    st.plotly_chart(churn_charts.capacity_chart(
        list(point.curve_contacted), list(point.curve_saved), point.contacted, point.saved,
        title=t("churn.page.capacity_title", rate=rate), x_title=t("churn.capacity.contacted"),
        y_title=t("churn.capacity.expected_revenue_saved"), line_name=t("churn.capacity.expected_revenue_saved"),
        marker_name=t("churn.page.capacity_marker"),
        marker_text=t("churn.page.capacity_point", customers=fmt.number(point.contacted),
                      value=fmt.money(point.saved, compact=True)),
        money=money_formatter(fmt.language, fmt.currency)), width="stretch", key="ch_capacity_chart")
    if point.show_marginal:
        st.caption(t("churn.page.capacity_caption", customers=fmt.number(point.contacted),
                     marginal=fmt.money(point.marginal), total=fmt.money(point.total, compact=True), rate=rate))


# ---------------------------------------------------------------- model card

def auc_metric(slot: Any, card: core.ModelCard) -> None:
    """The headline's backtest AUC, against the best baseline (red when that baseline ranks better)."""
    best = card.best_baseline
    slot.metric(t("churn.page.metric.auc"), core.metric_text("auc", card.auc), border=True,
                delta=t("churn.page.metric.auc_delta", value=card.texts[best]["auc"]) if best is not None else None,
                delta_color="inverse" if card.model_wins is False else "normal", delta_arrow="off",
                help=t("churn.page.metric.auc_help") + (
                    " " + t("churn.page.metric.auc_best", baseline=t(f"churn.page.baseline_name.{best}"))
                    if best is not None else ""))


def kind_name(kind: str) -> str:
    """The name of what ranks the customers: a model kind or a baseline."""
    return t(f"churn.page.kind.{kind}")


def ranked_by_notice(facts: core.ModelFacts | None) -> None:
    """Say so, above everything else, when a baseline ranks the customers because it beat the model."""
    if facts is not None and facts.kind in core.FALLBACKS:
        st.warning(t("churn.page.ranked_by_baseline", baseline=kind_name(facts.kind)), icon=":material/swap_vert:")


def _selection_text(selection: core.churn.Selection | None, fmt: Formats) -> str | None:
    if selection is None or selection.method == "single":
        return None
    scores = t("churn.page.list_sep").join(
        t("churn.page.selection_score", kind=kind_name(kind), auc=core.metric_text("auc", auc))
        for kind, auc in selection.auc)
    if selection.method == "earlier_window" and selection.cutoff is not None:
        return t("churn.page.selection_window", chosen=kind_name(selection.chosen), cutoff=fmt.date(selection.cutoff),
                 scores=scores)
    return t("churn.page.selection_folds", chosen=kind_name(selection.chosen), scores=scores)


def model_card(card: core.ModelCard, facts: core.ModelFacts, as_of: datetime, fmt: Formats) -> None:
    """The backtest's metrics beside the baselines, the verdicts, gains, calibration and importance."""
    st.caption(t("churn.page.card_caption", train=fmt.date(card.train_cutoff), start=fmt.date(card.eval_cutoff),
                 end=fmt.date(as_of), customers=fmt.number(card.n_customers), rate=fmt.percent(card.churn_rate)))
    verdict = card.verdict
    if verdict is not None:
        named = t(f"churn.page.baseline_name.{verdict.params['baseline']}")
        sentence = t(verdict.key, **{**verdict.params, "baseline": named})
        (st.success if card.ranked_by == "model" else st.warning)(
            sentence, icon=":material/verified:" if card.ranked_by == "model" else ":material/swap_vert:")
    chosen = _selection_text(card.selection, fmt)
    if chosen is not None:
        st.caption(chosen)
    rows = card.shown
    st.table({  # a static table, numbers as people write them ("–" = not computed)
        t("churn.page.card_column.ranking"): [t(f"churn.metric.{name}") for name in rows],
        **{t(f"churn.metric.{m}"): [card.texts[name][m] for name in rows] for m in core.METRICS},
    }, hide_index=True)
    if card.bgnbd_degenerate is not None:
        st.caption(":material/info: " + t("churn.page.bgnbd_degenerate"))
    if card.base_rate_shift is not None:
        st.caption(t("churn.page.base_rate_shift", train=fmt.percent(card.train_churn_rate),
                     test=fmt.percent(card.churn_rate), points=f"{card.base_rate_shift * 100:+.1f}"))
    if card.verdicts:
        st.markdown("\n".join("- " + t(v.key, baseline=t(f"churn.page.baseline_name.{v.baseline}"), **v.params)
                              for v in card.verdicts))
    with st.expander(t("churn.page.glossary_title"), icon=":material/help:"):
        st.markdown("\n".join(f"- **{t(f'churn.metric.{m}')}**: {t(f'churn.page.metric_help.{m}')}"
                              for m in core.METRICS))
        st.caption(t("churn.page.baselines_note"))

    left, right = st.columns(2)
    left.plotly_chart(churn_charts.gains_chart(
        list(card.share_contacted), {t(f"churn.metric.{name}"): list(curve) for name, curve in card.gains.items()},
        title=t("churn.page.gains_title"), x_title=t("churn.metric.share_contacted"),
        y_title=t("churn.metric.share_caught"), random_name=t("churn.metric.random")), width="stretch", key="ch_gains")
    points = card.calibration
    right.plotly_chart(churn_charts.calibration_chart(
        [p.mean_predicted for p in points], [p.observed_rate for p in points],
        title=t("churn.page.calibration_title"), x_title=t("churn.metric.mean_predicted"),
        y_title=t("churn.metric.observed_rate"), points_name=t("churn.metric.model"),
        diagonal_name=t("churn.page.perfect_calibration"),
        hover=[t("churn.page.calibration_hover", decile=p.decile, predicted=fmt.percent(p.mean_predicted),
                 observed=fmt.percent(p.observed_rate), customers=fmt.number(p.customers)) for p in points]),
        width="stretch", key="ch_calibration")
    st.caption(t("churn.page.charts_caption"))

    bars = facts.importance
    if bars:  # a baseline that ranks by one score has nothing to shuffle
        _importance_chart(bars)
    st.caption(t("churn.page.model_facts", customers=fmt.number(facts.n_train), cutoff=fmt.date(facts.cutoff),
                 end=fmt.date(facts.label_end), rate=fmt.percent(facts.train_churn_rate), kind=kind_name(facts.kind),
                 method=t(f"churn.page.calibration_method.{facts.calibration}"), features=facts.n_features))
    chosen_now = _selection_text(facts.selection, fmt)
    if chosen_now is not None:
        st.caption(chosen_now)
    if facts.n_eligible > facts.n_train:
        st.caption(t("churn.page.model_sample", customers=fmt.number(facts.n_train),
                     eligible=fmt.number(facts.n_eligible)))


def _importance_chart(bars: tuple[core.Importance, ...]) -> None:
    st.plotly_chart(churn_charts.importance_chart(
        [t(f"churn.feature.{bar.feature}") for bar in bars], [bar.importance for bar in bars],
        [bar.std for bar in bars],
        title=t("churn.page.importance_title"), value_title=t("churn.metric.importance"),
        hover=[t("churn.page.importance_hover", feature=t(f"churn.feature.{bar.feature}"),
                 value=f"{bar.importance:.4f}", std=f"{bar.std:.4f}") for bar in bars]),
        width="stretch", key="ch_importance")
