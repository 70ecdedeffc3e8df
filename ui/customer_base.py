"""The customer table both customer pages read (Customers and Customer 360): one cached call, so opening a
customer after the table (or the other way round) costs nothing."""
from __future__ import annotations

from datetime import datetime

from crm_core.customers import customer_table
from crm_core.dataset import Dataset
from ui.cache import cached

PRESET = "standard"   # the segment map of the customer pages (the Segments page lets users pick another)
HORIZON_DAYS = 365    # predicted value and expected orders look a year ahead
VALUE = f"predicted_value_{HORIZON_DAYS}_days"


@cached
def customer_base(dataset: Dataset, as_of: datetime):
    """The customer table as of ``as_of`` and the notes of the analyses that could not run."""
    notes: list = []
    table = customer_table(dataset, as_of, preset=PRESET, horizon_days=HORIZON_DAYS, notes=notes)
    return table, tuple(notes)
