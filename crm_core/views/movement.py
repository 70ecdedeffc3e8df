"""The headline of a movement between two dates, shared by segments (Segments page) and stages (Lifecycle)."""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from crm_core.segmentation import NO_SEGMENT

__all__ = ["MovementSummary", "movement_summary"]


@dataclass(frozen=True)
class MovementSummary:
    """The headline of a movement: ``compared`` customers (on either side), ``stayed`` in the same group,
    ``newcomers`` in no group at the start, and ``stayed_share`` = stayed / customers in a group at the start
    (None when there are none)."""

    compared: int
    stayed: int
    newcomers: int
    stayed_share: float | None


def movement_summary(flows: pl.DataFrame, source: str = "segment_from", target: str = "segment_to",
                     none: str = NO_SEGMENT) -> MovementSummary:
    """Headline of a from → to flow table (``customers`` per ``source``, ``target`` pair; ``none`` is the group
    of a customer absent at one side), e.g. :func:`crm_core.segmentation.movement`."""
    compared = int(flows["customers"].sum())
    earlier = flows.filter(pl.col(source) != none)
    stayed = int(earlier.filter(pl.col(source) == pl.col(target))["customers"].sum())
    started = int(earlier["customers"].sum())
    return MovementSummary(compared=compared, stayed=stayed, newcomers=compared - started,
                           stayed_share=stayed / started if started else None)
