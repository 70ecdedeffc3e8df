"""Cached wrappers of :mod:`crm_core.views.segments`, one per view-model of the Segments page."""
from crm_core.views import segments as core
from ui.cache import stored

customer_count = stored(core.customer_count)
segments = stored(core.segments)
rf_grid = stored(core.rf_grid)
tiers = stored(core.tiers)
cluster_choice = stored(core.cluster_choice)
clusters = stored(core.clusters)
movement_dates = stored(core.movement_dates)
movement = stored(core.movement)
customer_group = stored(core.customer_group)
