"""An upload of credit notes only (every order a refund): no page analyses anyone, none may fail, and the
pages say why there is no one to show."""
from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from crm_core.dataset import Dataset
from tests.app.helpers import app, assert_healthy, texts

PAGES = ["overview", "segments", "lifecycle", "cross_sell", "churn", "customers", "customer_360"]
REFUNDS = Dataset(pl.DataFrame({
    "customer_id": ["A", "B", "A"], "order_date": [datetime(2024, 1, 5), datetime(2024, 2, 5), datetime(2024, 3, 1)],
    "amount": [-10.0, -20.0, -5.0], "order_id": ["C1", "C2", "C3"]}))


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("page", PAGES)
def test_an_upload_of_refunds_only_breaks_no_page(page, language):
    at = app(query={"lang": language}, page=page, dataset=REFUNDS)
    assert_healthy(at)
    assert not at.error
    if page in ("overview", "segments", "lifecycle", "churn"):
        shown = texts(at)
        assert ("2 with only refunds left out" if language == "en" else "2 位只有退款的客户未计入") in shown
