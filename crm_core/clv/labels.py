"""Translatable labels of the output columns."""
from __future__ import annotations

import re
from typing import Any

_COLUMN_PATTERNS = (
    (re.compile(r"^expected_orders_next_(\d+)_days$"), "lifecycle.column.expected_orders_next_days"),
    (re.compile(r"^predicted_value_(\d+)_days$"), "lifecycle.column.predicted_value_days"),
)
_UNIT_COLUMNS = frozenset({"recency", "T", "duration_holdout"})
_UNIT_SUFFIX = {"W": "weeks", "D": "days"}


def column_label(name: str, time_unit: str = "W") -> dict[str, Any]:
    """The translatable label of an output column: ``{"key", "params"}``. Horizons go into params
    (``expected_orders_next_90_days`` → ``lifecycle.column.expected_orders_next_days``, days=90); model
    times get their unit (``recency`` in weeks → ``lifecycle.column.recency_weeks``)."""
    for pattern, key in _COLUMN_PATTERNS:
        match = pattern.match(name)
        if match:
            return {"key": key, "params": {"days": int(match.group(1))}}
    base = name.removesuffix("_cal")
    if base in _UNIT_COLUMNS:
        return {"key": f"lifecycle.column.{base}_{_UNIT_SUFFIX[time_unit]}", "params": {}}
    return {"key": f"lifecycle.column.{name}", "params": {}}
