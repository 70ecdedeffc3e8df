"""Cached wrappers of :mod:`crm_core.views.churn` (the Churn risk page).

The risk view scores with the model :func:`ui.analyses.churn_model` caches, the one the Customers and
Customer 360 pages use, so a session that opens them all trains it once; the model card reads the backtest
that chose it.
"""
from datetime import datetime
from functools import partial

from crm_core.dataset import Dataset
from crm_core.views import churn as core
from ui.analyses import churn_backtest, churn_model, same
from ui.cache import narrowed, stored
from ui.i18n import translate

gate = narrowed(same)(core.gate)  # of the data the model learns from


@narrowed(same)
def model_card(dataset: Dataset, as_of: datetime, horizon_days: int) -> core.ModelCard | None:
    return core.model_card(dataset, as_of, horizon_days, result=churn_backtest(dataset, as_of, horizon_days))


@narrowed(lambda view, data: view.among(data.selected_customers()))
def risk_view(dataset: Dataset, as_of: datetime, horizon_days: int) -> core.RiskView:
    return core.risk_view(dataset, as_of, horizon_days, model=churn_model(dataset, as_of, horizon_days))


@stored
def risk_list(dataset: Dataset, as_of: datetime, horizon_days: int, tiers: tuple[str, ...],
              language: str) -> core.RiskList:
    """The at-risk list in ``language``: its 27k reason sentences at 1M lines are written once per
    language and choice of tiers (and kept), not at every rerun."""
    return risk_view(dataset, as_of, horizon_days).listing(tiers, partial(translate, language))


@stored
def call_list(dataset: Dataset, as_of: datetime, horizon_days: int, capacity: int, language: str):
    """The call list of ``capacity`` customers in ``language``."""
    return risk_view(dataset, as_of, horizon_days).call_list(capacity, partial(translate, language))
