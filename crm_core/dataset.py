"""The dataset every page analyses: immutable polars frames plus a content fingerprint."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import polars as pl

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
SAMPLE_FILES = {"transactions": "transactions.csv", "customers": "customers.csv", "interactions": "interactions.csv"}


def frame_fingerprint(frame: pl.DataFrame | None) -> str:
    """SHA-256 over a frame's schema and every row's hash: equal content, equal fingerprint."""
    digest = hashlib.sha256()
    if frame is None:
        digest.update(b"<none>")
        return digest.hexdigest()
    digest.update(repr(list(frame.schema.items())).encode())
    digest.update(str(frame.height).encode())
    if frame.height:
        for seed in (0, 1):  # two 64-bit row hashes: collisions practically impossible
            digest.update(frame.hash_rows(seed=seed).to_numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class Dataset:
    """Canonical tables of one analysis (DESIGN.md): ``transactions`` required, the others optional.

    Frames are never mutated; derive new ones. ``fingerprint`` is a content hash usable as a cache key.
    """

    transactions: pl.DataFrame
    customers: pl.DataFrame | None = None
    interactions: pl.DataFrame | None = None
    name: str = field(default="", compare=False)
    currency: str | None = field(default=None, compare=False)  # ISO 4217 code of ``amount``; None: not known
    derived_key: str | None = field(default=None, compare=False, repr=False)
    view_of: Dataset | None = field(default=None, compare=False, repr=False)
    """Set when this dataset is ``view_of`` narrowed to some customers by region, channel or category, every
    date kept (:func:`crm_core.filters.apply_filters`): a per-customer result of ``view_of`` restricted to
    :func:`selected_customers` is then this dataset's too, without computing it again."""

    def selected_customers(self) -> pl.Series:
        """The customer ids this dataset holds: its buyers and, with a customer table, its customers."""
        ids = [self.transactions.get_column("customer_id").cast(pl.String)]
        if self.customers is not None:
            ids.append(self.customers.get_column("customer_id").cast(pl.String))
        return pl.concat(ids).unique().sort()

    @cached_property
    def fingerprint(self) -> str:
        """Content hash, or the key a dataset carries instead (``derived_key``): a filtered dataset's,
        computed from its parent's fingerprint and the derivation, which is as unique and much cheaper;
        a saved dataset's, the hash stored with it when it was saved (``crm_core.store.load``)."""
        if self.derived_key is not None:
            return self.derived_key
        parts = [frame_fingerprint(f) for f in (self.transactions, self.customers, self.interactions)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]

    def has(self, kind: str, column: str | None = None) -> bool:
        """Whether the table ``kind`` exists (and, if given, has ``column`` with at least one value)."""
        frame = getattr(self, kind)
        if frame is None or frame.height == 0:
            return False
        if column is None:
            return True
        return column in frame.columns and frame[column].null_count() < frame.height


def load_sample(directory: Path | str = SAMPLE_DIR) -> Dataset:
    """The built-in sample (``sample_data/``), read through the same loader users' files go through."""
    from crm_core.io import read_table

    directory = Path(directory)
    frames: dict[str, pl.DataFrame | None] = {}
    for kind, filename in SAMPLE_FILES.items():
        path = directory / filename
        frames[kind] = read_table(path, kind=kind).df if path.exists() else None
    transactions = frames["transactions"]
    if transactions is None:  # the one table a dataset cannot do without
        raise FileNotFoundError(directory / SAMPLE_FILES["transactions"])
    return Dataset(transactions, frames["customers"], frames["interactions"], name="sample", currency="CNY")
