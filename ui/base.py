"""What every analysis page says near its top: how many customers it analyses (and why that number differs
from another page's), and, for data without amounts, which views need a money column.

The counts come from :func:`crm_core.features.customer_base` (customers with at least one purchase before
the analysis date; customers with only refunds in the range are left out and counted). A page that analyses
a different set passes its own count and the key of the sentence that says why.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from crm_core.dataset import Dataset
from crm_core.features import customer_base, has_amounts as core_has_amounts
from ui.cache import stored
from ui.i18n import format_date, format_number
from ui.state import lang, t


@stored
def counts(dataset: Dataset, as_of) -> tuple[int, int]:
    """``(customers analysed, customers with only refunds left out)`` as of ``as_of``
    (:func:`crm_core.features.customer_base` of the lines in the date range)."""
    found = customer_base(dataset.transactions, as_of)
    return found.customers, found.refund_only


@stored
def refund_only_ids(dataset: Dataset, as_of) -> tuple[str, ...]:
    """The ids of the customers whose lines before ``as_of`` (in the date range) are all refunds, sorted."""
    return customer_base(dataset.transactions, as_of).refund_only_ids


def has_amounts(dataset: Dataset) -> bool:
    """Whether the lines carry money (an ``amount`` column with at least one value)."""
    return core_has_amounts(dataset.transactions)


def caption(ctx: Any, analysed: int | None = None, why: str | None = None, container: Any = None,
            **why_params: Any) -> int:
    """Draw "N customers analysed (with at least one purchase before <date>) · M with only refunds left out".

    ``analysed``: the page's own count when it analyses a different set, with ``why`` the translation key of
    the reason (formatted with ``why_params``, plus ``customers`` = the page's count and ``base`` = the base's).
    Returns the base's count.
    """
    language = lang()
    box = container if container is not None else st
    customers, refund_only = counts(ctx.dataset, ctx.as_of)
    if ctx.spec.start is None and ctx.spec.end is None:
        text = t("app.base.analysed", customers=format_number(customers, language),
                 as_of=format_date(ctx.as_of, language))
    else:
        text = t("app.base.analysed_window", customers=format_number(customers, language),
                 start=format_date(ctx.start, language), end=format_date(ctx.end, language),
                 as_of=format_date(ctx.as_of, language))
    if refund_only:
        text += " · " + t("app.base.refund_only", count=format_number(refund_only, language))
    if analysed is not None and analysed != customers and why:
        text += " · " + t(why, customers=format_number(analysed, language), base=format_number(customers, language),
                          **why_params)
    box.caption(":material/group: " + text)
    return customers


def scope_note(ctx: Any, container: Any = None) -> None:
    """On the customer-level pages (Churn risk, Customers, Customer 360): what the sidebar's filters do to
    them. Region, channel and category select customers from the analysis of the whole data
    (``Dataset.view_of``); an order-date range changes the data the analyses learn from."""
    box = container if container is not None else st
    if ctx.dataset.view_of is not None:
        box.caption(":material/filter_alt: " + t("app.base.selects"))
    elif ctx.spec.start is not None or ctx.spec.end is not None:
        box.caption(":material/date_range: " + t("app.base.retrains"))


def amounts_notice(dataset: Dataset, container: Any = None) -> bool:
    """Say once, near the top, that this file has no amounts; returns whether it has them."""
    if has_amounts(dataset):
        return True
    (container if container is not None else st).info(t("app.base.no_amounts"), icon=":material/money_off:")
    return False


def needs_amounts(container: Any = None) -> None:
    """In place of one monetary view (a revenue chart, value tiers, predicted value): the short reason."""
    (container if container is not None else st).caption(":material/money_off: " + t("app.base.needs_amounts"))


def refund_only_list(ctx: Any) -> None:
    """The one place that lists the customers left out for having only refunds (the Customers page)."""
    ids = refund_only_ids(ctx.dataset, ctx.as_of)
    if not ids:
        return
    language = lang()
    with st.expander(t("app.base.refund_only_title", count=format_number(len(ids), language),
                       as_of=format_date(ctx.as_of, language)), icon=":material/undo:"):
        st.caption(t("app.base.refund_only_help"))
        st.dataframe({t("customers.column.customer_id"): list(ids)}, hide_index=True, key="base_refund_only")


def risk_legend(days: int, container: Any = None) -> None:
    """The one language of risk: the churn tier is "risk"; the lifecycle stage and RFM segment say other things.

    Shown beside every list that carries more than one of them (Churn risk, Customers, Customer 360).
    """
    with (container if container is not None else st).expander(t("app.risk_legend.title"), icon=":material/translate:"):
        st.markdown(t("app.risk_legend.body", days=days))
