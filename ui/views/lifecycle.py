"""Cached view-models of the Lifecycle & value page (:mod:`crm_core.views.lifecycle`)."""
from crm_core.views import lifecycle as core
from ui.cache import stored

buyer_count = stored(core.buyer_count)
chosen_windows = stored(core.chosen_windows)
stage_summary = stored(core.stage_summary)
flow_range = stored(core.flow_range)
stage_flow = stored(core.stage_flow)
cohort_matrix = stored(core.cohort_matrix)
value_model = stored(core.value_model)
holdout_check = stored(core.holdout_check)
