"""Cached Overview view-models (:mod:`crm_core.views.overview`)."""
from crm_core.views import overview as core
from ui.cache import stored

freshness = stored(core.freshness)
kpis = stored(core.kpis)
monthly = stored(core.monthly)
breakdown = stored(core.breakdown)
