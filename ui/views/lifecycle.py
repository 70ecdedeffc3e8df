"""Cached view-models of the Lifecycle & value page (:mod:`crm_core.views.lifecycle`)."""
from crm_core.views import lifecycle as core
from ui.cache import cached

buyer_count = cached(core.buyer_count)
chosen_windows = cached(core.chosen_windows)
stage_summary = cached(core.stage_summary)
flow_range = cached(core.flow_range)
stage_flow = cached(core.stage_flow)
cohort_matrix = cached(core.cohort_matrix)
value_model = cached(core.value_model)
holdout_check = cached(core.holdout_check)
