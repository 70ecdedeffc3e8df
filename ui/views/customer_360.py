"""Cached wrappers of :mod:`crm_core.views.customer_360`, one per view-model of the Customer 360 page.

Both read the customer table :func:`ui.analyses.customer_base` caches (the Customers page's) and hand it over
as ``base``; the customer view also gets the next-product method the Cross-sell page's check chose.
"""
from crm_core.views import customer_360 as core
from ui.analyses import customer_base, recommender
from ui.cache import stored


@stored(keep=False)
def search(dataset, as_of, query):
    return core.search(dataset, as_of, query, base=customer_base(dataset, as_of))


@stored
def customer_view(dataset, as_of, customer_id):
    return core.customer_view(dataset, as_of, customer_id, base=customer_base(dataset, as_of),
                              recommender=recommender(dataset, as_of))
