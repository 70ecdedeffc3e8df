"""Cached Overview view-models (:mod:`crm_core.views.overview`)."""
from crm_core.views import overview as core
from ui.cache import cached

freshness = cached(core.freshness)
kpis = cached(core.kpis)
monthly = cached(core.monthly)
breakdown = cached(core.breakdown)
