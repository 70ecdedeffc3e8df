"""Cached wrappers of :mod:`crm_core.views.cross_sell`, one per view-model of the Cross-sell page."""
from crm_core.views import cross_sell as core
from ui.cache import cached

basket_setup = cached(core.basket_setup)
basket_overview = cached(core.basket_overview)
rules = cached(core.rules)
affinity_map = cached(core.affinity_map)
also_bought = cached(core.also_bought)
customer_choices = cached(core.customer_choices)
segment_choices = cached(core.segment_choices)
recommender_card = cached(core.recommender_card)
offers = cached(core.offers)
targets = cached(core.targets)
