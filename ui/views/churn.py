"""Cached wrappers of :mod:`crm_core.views.churn` (the Churn risk page).

The risk view scores with the model :func:`ui.analyses.churn_model` caches, the one the Customers and
Customer 360 pages use, so a session that opens them all trains it once.
"""
from datetime import datetime

from crm_core.dataset import Dataset
from crm_core.views import churn as core
from ui.analyses import churn_model
from ui.cache import cached

gate = cached(core.gate)
model_card = cached(core.model_card)


@cached
def risk_view(dataset: Dataset, as_of: datetime, horizon_days: int) -> core.RiskView:
    return core.risk_view(dataset, as_of, horizon_days, model=churn_model(dataset, as_of, horizon_days))
