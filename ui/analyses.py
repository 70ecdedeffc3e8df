"""Cached analyses that more than one page reads, computed once per dataset and analysis date by whichever
page asks first: the churn gate and model (Churn risk, Customers, Customer 360), the next-product rules
(Customers, Customer 360) and the customer table (Customers, Customer 360)."""
from __future__ import annotations

from datetime import datetime

from crm_core.churn import sufficiency, train
from crm_core.customers import customer_table, next_product_rules, recommendation_level
from crm_core.dataset import Dataset
from ui.cache import cached

PRESET = "standard"        # the segment map of the customer pages (the Segments page lets users pick another)
HORIZON_DAYS = 365         # predicted value and expected orders look a year ahead
VALUE = f"predicted_value_{HORIZON_DAYS}_days"
CHURN_HORIZON_DAYS = 90    # the customer pages show the churn risk of the Churn page's default horizon


@cached
def churn_gate(dataset: Dataset, as_of: datetime, horizon_days: int):
    """Whether the data supports an honest churn model (:func:`crm_core.churn.sufficiency`)."""
    return sufficiency(dataset.transactions, as_of, horizon_days)


@cached
def churn_model(dataset: Dataset, as_of: datetime, horizon_days: int):
    """The churn model trained up to the analysis date, or None when the gate fails (scores then come from
    the warning rules)."""
    return train(dataset, as_of, horizon_days) if churn_gate(dataset, as_of, horizon_days).ok else None


@cached
def product_rules(dataset: Dataset, as_of: datetime):
    """The association rules behind the next best product, or None when the data has no products."""
    if recommendation_level(dataset.transactions) is None:
        return None
    return next_product_rules(dataset.transactions, as_of)


@cached
def customer_base(dataset: Dataset, as_of: datetime):
    """The customer table as of ``as_of`` and the notes of the analyses that could not run."""
    notes: list = []
    table = customer_table(dataset, as_of, preset=PRESET, horizon_days=HORIZON_DAYS, notes=notes,
                           churn_horizon_days=CHURN_HORIZON_DAYS, rules=product_rules(dataset, as_of),
                           churn_model=churn_model(dataset, as_of, CHURN_HORIZON_DAYS))
    return table, tuple(notes)
