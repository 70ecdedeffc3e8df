"""Cached wrappers of :mod:`crm_core.views.cross_sell`, one per view-model of the Cross-sell page."""
from crm_core.views import cross_sell as core
from ui.cache import stored

basket_setup = stored(core.basket_setup)
basket_overview = stored(core.basket_overview)
rules = stored(core.rules)
affinity_map = stored(core.affinity_map)
also_bought = stored(core.also_bought)
customer_choices = stored(core.customer_choices)
segment_choices = stored(core.segment_choices)
recommender_card = stored(core.recommender_card)
offers = stored(core.offers)
targets = stored(core.targets, keep=False)  # per pick: memory only
