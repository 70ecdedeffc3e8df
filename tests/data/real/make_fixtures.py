"""Derive the small real-data fixtures in this folder from the full real files (run by hand, not by tests).

    python tests/data/real/make_fixtures.py ../shared/data/real/ta_feng.csv.zip CDNOW_master.txt

Ta-Feng (a Taiwanese supermarket's receipts, ../shared/data/real/README.md): every line of every 200th
customer (sorted by id), written in the five export shapes of ``shared/tools/real_variants.py`` with the
same code, so the traps stay: leading-zero ids, m/d/yyyy dates, AMOUNT = quantity beside SALES_PRICE =
line total, exact repeated lines, Big5 with Traditional Chinese headers, GB18030 with ``¥1,234.00``.
A headerless basket file (customer, date, product; no amounts) is cut from the same lines.

``ta_feng_every20.parquet``: every 20th customer (sorted id) of the same file as ``crm_core.io.read_table``
loads it, the canonical columns only, zstd-compressed: enough customers (1,614) for a stable out-of-time
recommender evaluation (tests/core/test_cross_sell.py), which the 162 customers above are not.

CDNOW (Fader & Hardie's CDNOW master file, as shipped in lifetimes 0.11.3 ``datasets/CDNOW_master.txt``):
the lines of the first 300 customers as the original whitespace-separated, headerless text
(``id yyyymmdd cds dollars``).
"""
from __future__ import annotations

import importlib.util
import io
import pathlib
import sys
import zipfile

import polars as pl

HERE = pathlib.Path(__file__).resolve().parent
EVERY_NTH_CUSTOMER = 200
EVERY_20TH_CUSTOMER = 20
CDNOW_CUSTOMERS = 300


def _variants_module(zip_path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(
        "real_variants", zip_path.resolve().parent.parent.parent / "tools" / "real_variants.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ta_feng(zip_path: pathlib.Path) -> None:
    with zipfile.ZipFile(zip_path) as archive:
        raw = archive.read(archive.namelist()[0])
    full = pl.read_csv(io.BytesIO(raw), infer_schema=False)
    ids = full.get_column("CUSTOMER_ID").unique().sort()
    chosen = ids.gather_every(EVERY_NTH_CUSTOMER)
    subset = full.filter(pl.col("CUSTOMER_ID").is_in(chosen.implode()))
    # the original's own bytes: BOM, every cell quoted, CRLF line ends as published
    lines = raw.decode("utf-8-sig").splitlines()
    header, body = lines[0], lines[1:]
    keep = set(chosen.to_list())
    picked = [line for line in body if line.split(",")[1].strip('"') in keep]
    assert len(picked) == subset.height
    work = HERE / "_work"
    work.mkdir(exist_ok=True)
    zipped = work / "ta_feng.csv.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ta_feng_all_months_merged.csv", ("\ufeff" + "\r\n".join([header, *picked]) + "\r\n").encode())
    variants = _variants_module(zip_path)
    variants.SRC = zipped
    variants.main(work)
    for name in ("ta_feng_original.csv", "ta_feng_big5.csv", "ta_feng_gb18030.csv", "ta_feng_customers.csv"):
        (HERE / name).write_bytes((work / name).read_bytes())
    subset.head(2_000).write_excel(HERE / "ta_feng.xlsx", worksheet="销售明细")
    date = pl.col("TRANSACTION_DT").str.strptime(pl.Date, "%m/%d/%Y")
    baskets = subset.select(pl.col("CUSTOMER_ID"), date.dt.strftime("%d-%m-%Y"), pl.col("PRODUCT_ID"))
    (HERE / "baskets_headerless.csv").write_bytes(baskets.write_csv(include_header=False).encode())
    for path in work.iterdir():
        path.unlink()
    work.rmdir()
    print(f"ta_feng: {subset.height} lines, {chosen.len()} customers, sales {subset['SALES_PRICE'].cast(pl.Int64).sum()}")


def ta_feng_every20(zip_path: pathlib.Path) -> None:
    """``ta_feng_every20.parquet``: every 20th customer's lines, loaded by read_table, canonical columns."""
    sys.path.insert(0, str(HERE.parents[2]))
    from crm_core.io import read_table
    from crm_core.schema import COLUMNS

    with zipfile.ZipFile(zip_path) as archive:
        raw = archive.read(archive.namelist()[0])
    lines = read_table(raw, max_bytes=len(raw) + 1, max_rows=2_000_000).df
    chosen = lines.get_column("customer_id").unique().sort().gather_every(EVERY_20TH_CUSTOMER)
    subset = (lines.filter(pl.col("customer_id").is_in(chosen.implode()))
              .select([name for name in COLUMNS["transactions"] if name in lines.columns]))
    path = HERE / "ta_feng_every20.parquet"
    subset.write_parquet(path, compression="zstd", compression_level=22)
    print(f"ta_feng_every20: {subset.height} lines, {chosen.len()} customers, {path.stat().st_size:,} bytes")


def cdnow(master: pathlib.Path) -> None:
    text = master.read_text()
    out = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or not fields[0].isdigit():
            continue  # lifetimes' copy adds a header line; the original has none
        if int(fields[0]) > CDNOW_CUSTOMERS:
            break
        out.append(line)
    (HERE / "cdnow_master_head.txt").write_text("\r\n".join(out) + "\r\n")
    print(f"cdnow: {len(out)} lines")


if __name__ == "__main__":
    ta_feng(pathlib.Path(sys.argv[1]))
    ta_feng_every20(pathlib.Path(sys.argv[1]))
    if len(sys.argv) > 2:
        cdnow(pathlib.Path(sys.argv[2]))
