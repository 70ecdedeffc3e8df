"""Stored analyses that more than one page reads (:func:`ui.cache.stored`, :class:`ui.cache.Narrowed`).

Computed once per dataset and analysis date, by the background worker that :func:`prepare` starts when
data is chosen (or by the first page that needs one sooner), and kept beside a saved dataset: the churn
model and its backtest (Churn risk, Customers, Customer 360), the next-product method (Customers,
Customer 360) and the customer table (Customers, Customer 360; the views of ``ui.views.customers`` and
``ui.views.customer_360`` read it). For a filtered view of the data (``Dataset.view_of``) they are the
whole data's, narrowed to the view's customers.
"""
from __future__ import annotations

from datetime import datetime

import polars as pl

from crm_core.churn import fit_and_backtest, ranking_model
from crm_core.customers import CustomerTable, Recommender, recommendation_level
from crm_core.dataset import Dataset
from crm_core.views import customers as customer_views
from crm_core.views.customers import CHURN_HORIZON_DAYS
from ui.cache import narrowed, prepare_enabled
from ui.views import cross_sell as cross_sell_views


def same(result, view):
    """The whole data's result as it is (a model learns from every customer; a filter only selects)."""
    return result


def _table_among(table: CustomerTable, view: Dataset) -> CustomerTable:
    return CustomerTable(table.frame.join(pl.DataFrame({"customer_id": view.selected_customers()}),
                                          on="customer_id", how="semi", maintain_order="left"), table.notes)


@narrowed(same)
def churn_fit(dataset: Dataset, as_of: datetime, horizon_days: int):
    """The churn model trained up to the analysis date (None when the data gate fails) and its backtest one
    horizon back (:func:`crm_core.churn.fit_and_backtest`: each training window computed once)."""
    return fit_and_backtest(dataset, as_of, horizon_days)


def churn_backtest(dataset: Dataset, as_of: datetime, horizon_days: int):
    """The churn backtest one horizon back: the model card's numbers."""
    return churn_fit(dataset, as_of, horizon_days)[1]


@narrowed(same)
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


@narrowed(same)
def recommender(dataset: Dataset, as_of: datetime) -> Recommender:
    """How the next best product is found: the method the Cross-sell page's out-of-time check chose
    (:func:`crm_core.views.cross_sell.recommender_card`, the cached card that page shows)."""
    level = recommendation_level(dataset.transactions)
    if level is None:
        return Recommender()
    card = cross_sell_views.recommender_card(dataset, as_of, level)
    return Recommender(card.method, card.by)


@narrowed(_table_among)
def customer_base(dataset: Dataset, as_of: datetime) -> CustomerTable:
    """:func:`crm_core.views.customers.customer_base` as of ``as_of`` (the table and its notes).

    With the Churn page's model and scores (its risk view at the same horizon: scored once for both pages)
    and the Cross-sell page's choice of recommender.
    """
    from ui.views import churn as churn_views

    scored = churn_views.risk_view(dataset, as_of, CHURN_HORIZON_DAYS).scored
    return customer_views.customer_base(dataset, as_of, churn_model=churn_model(dataset, as_of, CHURN_HORIZON_DAYS),
                                        recommender=recommender(dataset, as_of), churn_scored=scored)


# ---------------------------------------------------------------- off the request path

def prepare(dataset: Dataset, as_of: datetime) -> None:
    """Start the heavy analyses of the data in use in the background worker, when the data, a filter or the
    analysis date changes (``app.py``, every run: a ready or running analysis costs a dictionary look-up).

    The Churn page's risk view at its default horizon (which trains the model), then the customer table;
    the pages that need them find them ready, or show their progress (:mod:`ui.progress`)."""
    from crm_core.views.churn import DEFAULT_HORIZON
    from ui.views import churn as churn_views

    if dataset.transactions.height == 0 or not prepare_enabled():
        return
    churn_views.risk_view.start(dataset, as_of, DEFAULT_HORIZON)
    customer_base.start(dataset, as_of)


def churn_steps(dataset: Dataset, as_of: datetime, horizon_days: int) -> list:
    """What the Churn page waits for, in order (:class:`ui.progress.Step`)."""
    from ui.progress import Step
    from ui.views import churn as churn_views

    return [Step("app.progress.step_churn_fit", churn_fit, (dataset, as_of, horizon_days)),
            Step("app.progress.step_risk_view", churn_views.risk_view, (dataset, as_of, horizon_days))]


def customer_steps(dataset: Dataset, as_of: datetime) -> list:
    """What the Customers and Customer 360 pages wait for, in order."""
    from ui.progress import Step

    return [Step("app.progress.step_churn_fit", churn_fit, (dataset, as_of, CHURN_HORIZON_DAYS)),
            Step("app.progress.step_recommender", recommender, (dataset, as_of)),
            Step("app.progress.step_customer_base", customer_base, (dataset, as_of))]
