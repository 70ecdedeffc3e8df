"""Cached wrappers of :mod:`crm_core.views.churn` (the Churn risk page)."""
from crm_core.views import churn as core
from ui.cache import cached

gate = cached(core.gate)
risk_view = cached(core.risk_view)
model_card = cached(core.model_card)
