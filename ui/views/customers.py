"""Cached wrappers of :mod:`crm_core.views.customers`, one per view-model of the Customers page.

Each view reads the one customer table :func:`ui.analyses.customer_base` caches (with the Churn page's
model), so a wrapper hands it over as ``base`` instead of letting the core compute it again.
"""
from crm_core.views import customers as core
from ui.analyses import customer_base
from ui.cache import stored


@stored
def table_overview(dataset, as_of):
    return core.table_overview(dataset, as_of, base=customer_base(dataset, as_of))


@stored(keep=False)
def customer_list(dataset, as_of, filters, sort_by, descending):
    return core.customer_list(dataset, as_of, filters, sort_by, descending, base=customer_base(dataset, as_of))
