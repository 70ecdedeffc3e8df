"""Cached analyses that more than one page reads.

Computed once per dataset and analysis date by whichever page asks first: the churn model and its
backtest (Churn risk, Customers, Customer 360), the next-product method (Customers, Customer 360) and the
customer table (Customers, Customer 360; the views of ``ui.views.customers`` and ``ui.views.customer_360`` read it).
"""
from __future__ import annotations

from datetime import datetime

from crm_core.churn import fit_and_backtest, ranking_model
from crm_core.customers import CustomerTable, Recommender, recommendation_level
from crm_core.dataset import Dataset
from crm_core.views import customers as customer_views
from crm_core.views.customers import CHURN_HORIZON_DAYS
from ui.cache import cached
from ui.views import cross_sell as cross_sell_views


@cached
def churn_fit(dataset: Dataset, as_of: datetime, horizon_days: int):
    """The churn model trained up to the analysis date (None when the data gate fails) and its backtest one
    horizon back (:func:`crm_core.churn.fit_and_backtest`: each training window computed once)."""
    return fit_and_backtest(dataset, as_of, horizon_days)


def churn_backtest(dataset: Dataset, as_of: datetime, horizon_days: int):
    """The churn backtest one horizon back: the model card's numbers."""
    return churn_fit(dataset, as_of, horizon_days)[1]


@cached
def churn_model(dataset: Dataset, as_of: datetime, horizon_days: int):
    """What ranks the customers by churn risk as of the analysis date.

    The model trained up to it, or the baseline that ranked the backtest's churners better
    (:func:`crm_core.churn.ranking_model`). None when the data gate fails: scores then come from the
    warning rules.
    """
    model, result = churn_fit(dataset, as_of, horizon_days)
    if model is None:
        return None
    return ranking_model(dataset, as_of, model, result)


@cached
def recommender(dataset: Dataset, as_of: datetime) -> Recommender:
    """How the next best product is found: the method the Cross-sell page's out-of-time check chose
    (:func:`crm_core.views.cross_sell.recommender_card`, the cached card that page shows)."""
    level = recommendation_level(dataset.transactions)
    if level is None:
        return Recommender()
    card = cross_sell_views.recommender_card(dataset, as_of, level)
    return Recommender(card.method, card.by)


@cached
def customer_base(dataset: Dataset, as_of: datetime) -> CustomerTable:
    """:func:`crm_core.views.customers.customer_base` as of ``as_of`` (the table and its notes).

    With the Churn page's model and the Cross-sell page's choice of recommender.
    """
    return customer_views.customer_base(dataset, as_of, churn_model=churn_model(dataset, as_of, CHURN_HORIZON_DAYS),
                                        recommender=recommender(dataset, as_of))
