"""Cached wrappers of :mod:`crm_core.views.segments`, one per view-model of the Segments page."""
from crm_core.views import segments as core
from ui.cache import cached

customer_count = cached(core.customer_count)
segments = cached(core.segments)
rf_grid = cached(core.rf_grid)
tiers = cached(core.tiers)
cluster_choice = cached(core.cluster_choice)
clusters = cached(core.clusters)
movement_dates = cached(core.movement_dates)
movement = cached(core.movement)
customer_group = cached(core.customer_group)
