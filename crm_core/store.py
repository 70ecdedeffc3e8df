"""Saved datasets: Parquet plus their mapping and load report, under an unguessable id.

This is the second place (with ``crm_core.io``) that touches files: a data directory holds one folder per
dataset (``<id>/transactions.parquet``, optional ``customers.parquet`` / ``interactions.parquet``, and
``meta.json``). A dataset is written into a temporary folder, its files and the folder are fsynced, and it
is renamed into place, so neither a crash nor a power cut leaves half a dataset; ``meta.json`` is
replaced atomically on rename. Staging folders a crash left behind are removed once they are older than
``STALE_AFTER`` (on every save, and on listing when the caller gives the time). Nothing here knows about
streamlit: a notebook can open a colleague's saved dataset with :func:`load`.

A dataset has an owner: an opaque key the caller gives on :func:`save` (the app passes a hash of the
browser's owner cookie or of the signed-in user, never the secret itself). :func:`list_saved`,
:func:`rename`, :func:`set_currency` and :func:`delete` take ``owner``: given, they list or change only that
owner's datasets (another's gets ``store.error.not_owner``); None means no check, for an administrator
or a notebook. Opening by id (:func:`load`) needs no owner: the link is the permission to read.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from crm_core.dataset import Dataset

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TABLES = ("transactions", "customers", "interactions")
META = "meta.json"
STALE_AFTER = timedelta(hours=1)  # a staging folder this old belongs to no save still running
_LEFTOVER = re.compile(r"^\.(staging|deleted)-[A-Za-z0-9_-]+$")


class StoreError(Exception):
    """A saved dataset could not be opened or changed; ``key``/``params`` are for a translated message."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class SavedInfo:
    """What the list of saved datasets shows."""

    dataset_id: str
    name: str
    created: str
    rows: dict[str, int]
    fingerprint: str
    owner: str | None = None  # the key given on save; None for datasets saved before owners were kept
    owner_name: str = ""      # a signed-in owner's e-mail, for an administrator's list


def new_id() -> str:
    """128 random bits, URL-safe: guessing one is hopeless."""
    return secrets.token_urlsafe(16)


def _folder(directory: Path | str, dataset_id: str) -> Path:
    if not isinstance(dataset_id, str) or not ID_PATTERN.match(dataset_id):
        raise StoreError("store.error.malformed_id")
    return Path(directory) / dataset_id


def _fsync(path: Path) -> None:
    """Flush a file's or a folder's contents to disk (a folder: its entries, so a rename survives a power
    cut). Folders cannot be opened for this on Windows; there it is skipped."""
    try:
        descriptor = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if path.is_dir() else 0))
    except OSError:
        if path.is_dir():
            return
        raise
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(payload, ensure_ascii=False, indent=1, default=str))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync(path.parent)


def remove_stale(directory: Path | str, now: datetime, max_age: timedelta = STALE_AFTER) -> list[str]:
    """Remove ``.staging-*`` and ``.deleted-*`` folders last changed more than ``max_age`` before ``now``:
    what a save or delete that crashed (kill -9, power cut) left behind. Younger ones may belong to a save
    still running and are kept. Returns the names removed."""
    root = Path(directory)
    if not root.is_dir():
        return []
    cutoff = (now - max_age).timestamp()
    removed = []
    for folder in root.iterdir():
        if not _LEFTOVER.match(folder.name):
            continue
        try:
            if not folder.is_dir() or folder.stat().st_mtime >= cutoff:
                continue
        except OSError:  # removed meanwhile by another session
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder.name)
    return removed


def save(dataset: Dataset, directory: Path | str, name: str, created: datetime,
         extra: dict[str, Any] | None = None, owner: str | None = None, owner_name: str = "") -> str:
    """Write ``dataset`` under a new id and return the id.

    ``extra`` (JSON-safe) is kept in the metadata: the column mappings and load reports of the files.
    The dataset's ``currency`` (ISO 4217 code or None) is kept there too and comes back with :func:`load`.
    ``created`` is also the time against which stale staging folders are removed (:func:`remove_stale`).
    ``owner`` (an opaque key) and ``owner_name`` are kept in the metadata (see the module docstring).
    Every file and the folders are fsynced before and after the rename into place.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    remove_stale(root, created)
    dataset_id = new_id()
    staging = root / f".staging-{dataset_id}"
    staging.mkdir()
    try:
        rows = {}
        for table in TABLES:
            frame = getattr(dataset, table)
            if frame is not None:
                frame.write_parquet(staging / f"{table}.parquet")
                _fsync(staging / f"{table}.parquet")
                rows[table] = frame.height
        _write_json(staging / META, {
            "id": dataset_id, "name": name, "created": created.isoformat(timespec="seconds"),
            "rows": rows, "fingerprint": dataset.fingerprint, "currency": dataset.currency, "extra": extra or {},
            "owner": owner, "owner_name": owner_name,
        })
        _fsync(staging)
        os.rename(staging, root / dataset_id)
        _fsync(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dataset_id


def read_meta(directory: Path | str, dataset_id: str) -> dict[str, Any]:
    folder = _folder(directory, dataset_id)
    try:
        return json.loads((folder / META).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError("store.error.not_found") from None
    except (OSError, ValueError):
        raise StoreError("store.error.damaged") from None


def load(directory: Path | str, dataset_id: str) -> tuple[Dataset, dict[str, Any]]:
    """The saved dataset and its metadata; :class:`StoreError` for a malformed, unknown or damaged id.

    Its fingerprint is the one stored on save (the files are written once and never changed in place).

    The currency comes from ``meta.json`` (None for datasets saved before it was stored, or unknown)."""
    meta = read_meta(directory, dataset_id)
    folder = _folder(directory, dataset_id)
    frames: dict[str, pl.DataFrame | None] = {}
    try:
        for table in TABLES:
            path = folder / f"{table}.parquet"
            frames[table] = pl.read_parquet(path) if path.exists() else None
    except (OSError, pl.exceptions.PolarsError):
        raise StoreError("store.error.damaged") from None
    if frames["transactions"] is None:
        raise StoreError("store.error.damaged")
    stored = meta.get("fingerprint")  # hashed on save: 0.8 s of a 1.7 s open at 10M lines, not paid again
    dataset = Dataset(frames["transactions"], frames["customers"], frames["interactions"], name=meta.get("name", ""),
                      currency=_currency(meta.get("currency")),
                      derived_key=stored if isinstance(stored, str) and re.fullmatch(r"[0-9a-f]{32}", stored) else None)
    return dataset, meta


def _currency(value: Any) -> str | None:
    """A stored currency code, or None when absent or not a three-letter code (a hand-edited meta.json)."""
    return value if isinstance(value, str) and re.fullmatch(r"[A-Z]{3}", value) else None


def list_saved(directory: Path | str, now: datetime | None = None,
               max_age: timedelta = STALE_AFTER, owner: str | None = None) -> list[SavedInfo]:
    """Every readable saved dataset, newest first (half-written staging folders are skipped); with
    ``owner``, only that owner's.

    With ``now``, staging folders older than ``max_age`` are removed first (:func:`remove_stale`);
    without it nothing is removed (the core has no clock)."""
    root = Path(directory)
    if not root.is_dir():
        return []
    if now is not None:
        remove_stale(root, now, max_age)
    found = []
    for folder in root.iterdir():
        if not folder.is_dir() or not ID_PATTERN.match(folder.name):
            continue
        try:
            meta = read_meta(root, folder.name)
        except StoreError:
            continue
        if owner is not None and meta.get("owner") != owner:
            continue
        found.append(SavedInfo(folder.name, meta.get("name", ""), meta.get("created", ""),
                               meta.get("rows", {}), meta.get("fingerprint", ""),
                               meta.get("owner") if isinstance(meta.get("owner"), str) else None,
                               str(meta.get("owner_name") or "")))
    return sorted(found, key=lambda info: info.created, reverse=True)


def _owned_meta(directory: Path | str, dataset_id: str, owner: str | None) -> dict[str, Any]:
    """The metadata of a dataset ``owner`` may change (None: anyone may); else ``store.error.not_owner``."""
    meta = read_meta(directory, dataset_id)
    if owner is not None and meta.get("owner") != owner:
        raise StoreError("store.error.not_owner")
    return meta


def rename(directory: Path | str, dataset_id: str, name: str, owner: str | None = None) -> None:
    meta = _owned_meta(directory, dataset_id, owner)
    meta["name"] = name
    _write_json(_folder(directory, dataset_id) / META, meta)


def set_currency(directory: Path | str, dataset_id: str, currency: str | None, owner: str | None = None) -> None:
    """Change the currency stored with a saved dataset (ISO 4217 code, or None for unknown)."""
    if currency is not None and _currency(currency) is None:
        raise ValueError(f"not a currency code: {currency!r}")
    meta = _owned_meta(directory, dataset_id, owner)
    meta["currency"] = currency
    _write_json(_folder(directory, dataset_id) / META, meta)


def delete(directory: Path | str, dataset_id: str, owner: str | None = None) -> None:
    """Move the folder aside in one rename, then remove it: a listing never sees half a dataset."""
    folder = _folder(directory, dataset_id)
    if not folder.is_dir():
        raise StoreError("store.error.not_found")
    if owner is not None:  # (without one, even a dataset whose meta.json is damaged can be removed)
        _owned_meta(directory, dataset_id, owner)
    trash = folder.with_name(f".deleted-{dataset_id}-{secrets.token_hex(4)}")
    os.rename(folder, trash)
    _fsync(folder.parent)
    shutil.rmtree(trash, ignore_errors=True)
