"""Property tests: whatever bytes arrive, read_table returns a LoadResult or raises DataError, nothing else.

When it returns, the result is internally consistent: every row read is either kept or rejected with
exactly one reason, canonical columns carry the schema dtypes, and every issue key is declared.
"""
from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from crm_core.io import ERROR_KEYS, ISSUE_KEYS, DataError, LoadResult, read_table, sniff_headers
from crm_core.schema import COLUMNS, KINDS

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)

HEADERS = ["客户编号", "下单时间", "金额", "订单号", "商品名称", "数量", "单价", "渠道", "地区", "备注"]
ROWS = [
    ["00123", "2024/1/5", "￥1,234.50", "SO-1", "保温杯", "2", "617.25", "线上", "华东", "老客户"],
    ["A-9", "2024-01-06 13:45:00", "(300.00)", "SO-2", "茶叶, 特级", "1", "300", "门店", "华南", ""],
    ["C77", "20240107", "1.2万", "SO-3", "笔记本", "3", "4000", "电话", "华北", "退款\"部分\""],
    ["C78", "45299", "88元", "SO-4", "杯垫", "", "", "线上", "西南", "多行\n备注"],
    ["C79", "2024年1月9日", "300-", "SO-5", "礼盒", "1", "300", "", "东北", "x"],
]
NASTY = ["", " ", "N/A", "null", "-", "0", "-0", "1e309", "NaN", "9" * 40, "2024-02-30", "13/13/2024",
         "0000-00-00", "\"", "\"\"", ",", ";", "\t", "|", "\n", "\r\n", "（", "￥", "1.2.3", "¥-", "()", "万",
         "=1+1", "\x00", "\ufeff", "\ufffd", "𠮷", "E+", "1E+11", "99999999999999999999", "12,5", "1.234,5"]


def to_csv(rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def check(call) -> LoadResult | None:
    """Run a load; only DataError may escape, and a result must be consistent."""
    try:
        result = call()
    except DataError as err:
        assert err.key in ERROR_KEYS, err.key
        assert isinstance(err.params, dict)
        return None
    assert isinstance(result, LoadResult)
    report = result.report
    assert report.rows_kept == result.df.height
    assert report.rows_read - report.rows_kept == result.rejected.height
    assert sum(i.count for i in report.issues if i.action == "dropped" and i.key != "title_rows_skipped") \
        == result.rejected.height
    assert result.rejected.columns[:2] == ["_row", "_reason"]
    schema = COLUMNS[report.kind]
    for column, dtype in result.df.schema.items():
        assert dtype == schema[column] if column in schema else dtype == pl.String
    for found in report.issues:
        assert found.key in ISSUE_KEYS, found.key
        assert found.count >= 0 and len(found.examples) <= 5
        assert all("_row" in example for example in found.examples)
    assert report.to_dict()  # JSON-safe dict builds
    return result


@pytest.fixture(scope="module")
def workbook_bytes() -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Orders")
    sheet.write_row(0, 0, HEADERS)
    for r, row in enumerate(ROWS, start=1):
        sheet.write_row(r, 0, row)
    sheet.write_datetime(1, 1, datetime(2024, 1, 5), book.add_format({"num_format": "yyyy-mm-dd"}))
    sheet.write_number(2, 0, 12345)
    book.close()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame({"customer_id": [1, 2, 3], "order_date": [date(2024, 1, d) for d in (1, 2, 3)],
                  "amount": [1.5, -2.0, 0.0], "product": ["a", "b", None]}).write_parquet(buffer)
    return buffer.getvalue()


@FUZZ
@given(data=st.binary(max_size=2048), kind=st.sampled_from(KINDS))
def test_arbitrary_bytes(data, kind):
    check(lambda: read_table(data, kind=kind))
    try:
        assert isinstance(sniff_headers(data), list)
    except DataError:
        pass


@FUZZ
@given(prefix=st.sampled_from([b"PK\x03\x04", b"PAR1", b"\xef\xbb\xbf", b"\xff\xfe",
                               b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"sep=;\n", b"customer_id,order_date,amount\n"]),
       data=st.binary(max_size=512))
def test_magic_prefixes_followed_by_junk(prefix, data):
    check(lambda: read_table(prefix + data))


@FUZZ
@given(cut=st.floats(min_value=0.0, max_value=1.0),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
       delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_truncated_text_files(cut, encoding, delimiter):
    data = to_csv([HEADERS] + ROWS, delimiter).encode(encoding)
    check(lambda: read_table(data[: int(len(data) * cut)]))


@FUZZ
@given(cut=st.floats(min_value=0.0, max_value=1.0), which=st.sampled_from(["xlsx", "parquet"]))
def test_truncated_binary_files(cut, which, workbook_bytes, parquet_bytes):
    data = workbook_bytes if which == "xlsx" else parquet_bytes
    result = check(lambda: read_table(data[: int(len(data) * cut)]))
    if cut == 1.0:
        assert result is not None and result.report.rows_kept >= 1


@FUZZ
@given(order=st.permutations(range(len(HEADERS))), delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_header_permutations_give_the_same_table(order, delimiter):
    base = check(lambda: read_table(to_csv([HEADERS] + ROWS).encode()))
    rows = [[row[i] for i in order] for row in [HEADERS] + ROWS]
    shuffled = check(lambda: read_table(to_csv(rows, delimiter).encode("gb18030")))
    assert shuffled.report.mapping == base.report.mapping
    canonical = [c for c in base.df.columns if c in COLUMNS["transactions"]]
    assert shuffled.df.select(canonical).equals(base.df.select(canonical))
    assert sorted(shuffled.df.columns) == sorted(base.df.columns)


@FUZZ
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), cells=st.integers(min_value=1, max_value=20),
       replacement=st.one_of(st.sampled_from(NASTY), st.text(max_size=12)),
       delimiter=st.sampled_from([",", ";", "\t", "|"]), kind=st.sampled_from(KINDS))
def test_mutated_csv(seed, cells, replacement, delimiter, kind):
    rng = random.Random(seed)
    rows = [list(row) for row in [HEADERS] + ROWS * 3]
    for _ in range(cells):
        r, c = rng.randrange(len(rows)), rng.randrange(len(HEADERS))
        rows[r][c] = replacement if rng.random() < 0.5 else rng.choice(NASTY)
    text = to_csv(rows, delimiter)
    if rng.random() < 0.3:  # a hand-edited file: break the quoting or the row structure
        position = rng.randrange(len(text) + 1)
        text = text[:position] + rng.choice(['"', delimiter, "\n", "\r", delimiter * 3]) + text[position:]
    data = text.encode(rng.choice(["utf-8", "gb18030", "utf-16", "utf-8-sig"]), errors="replace")
    check(lambda: read_table(data, kind=kind))


@FUZZ
@given(parts=st.lists(st.sampled_from(["utf-8", "gb18030", "utf-16", "utf-8-sig", "latin-1"]), min_size=2, max_size=4),
       junk=st.binary(max_size=16))
def test_concatenated_encodings(parts, junk):
    chunks = [to_csv([HEADERS] + ROWS[i % len(ROWS):]).encode(encoding, errors="replace")
              for i, encoding in enumerate(parts)]
    check(lambda: read_table(b"".join(chunks) + junk))


@FUZZ
@given(encodings=st.lists(st.sampled_from(["utf-8", "gbk"]), min_size=len(ROWS) * 3 + 1, max_size=len(ROWS) * 3 + 1))
def test_rows_pasted_from_utf8_and_gbk_exports_read_as_if_one_encoding(encodings):
    rows = [HEADERS] + ROWS * 3
    base = check(lambda: read_table(to_csv(rows).encode()))
    data = b"".join(to_csv([row]).encode(encoding) for row, encoding in zip(rows, encodings))
    mixed = check(lambda: read_table(data))
    assert mixed.df.equals(base.df)
    lines = {"utf-8": 0, "gbk": 0}  # non-ASCII file lines per encoding (a quoted line break makes two)
    for row, encoding in zip(rows, encodings):
        lines[encoding] += sum(1 for line in to_csv([row]).splitlines() if not line.isascii())
    notes = [i for i in mixed.report.issues if i.key == "encoding_mixed"]
    if min(lines.values()) == 0:
        assert notes == []
    else:
        main = "utf-8" if lines["utf-8"] >= lines["gbk"] else "gbk"
        other = "gbk" if main == "utf-8" else "utf-8"
        assert notes[0].count == lines[other] and notes[0].params["main_count"] == str(lines[main])
