"""crm_core.io: encodings, delimiters, headers, dates, amounts, ids, the report and every refusal.

Every file is written by the test itself (bytes or tmp_path), small enough to check by hand.
"""
from __future__ import annotations

import io
import json
import random
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from crm_core.io import (
    DATE_ORDERS,
    ERROR_KEYS,
    ISSUE_KEYS,
    DataError,
    LoadReport,
    list_sheets,
    parse_numbers,
    read_table,
    sniff_headers,
)
from ui.i18n import catalog as ui_catalog


def issue(result, key, column=None):
    """The one issue with this key (and column, if given), or None."""
    found = [i for i in result.report.issues if i.key == key and (column is None or i.column == column)]
    assert len(found) <= 1, found
    return found[0] if found else None


def day(y, m, d, hh=0, mi=0, ss=0):
    return datetime(y, m, d, hh, mi, ss)


def csv_bytes(rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    import csv
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


# ---------------------------------------------------------------------------------------------- encodings

def test_gbk_with_chinese_headers():
    text = "客户编号,下单时间,金额,商品名称,地区\n00123,2024-01-05,120.50,保温杯,华东\nA-9,2024-02-10,88,茶叶,华南\n"
    result = read_table(text.encode("gbk"))
    report = result.report
    assert report.encoding == "gb18030"  # tried before GBK: GB18030 is its superset
    assert report.mapping == {"客户编号": "customer_id", "下单时间": "order_date", "金额": "amount",
                              "商品名称": "product", "地区": "region"}
    assert result.df.columns == ["customer_id", "order_date", "amount", "product", "region"]
    assert result.df["customer_id"].to_list() == ["00123", "A-9"]
    assert result.df["product"].to_list() == ["保温杯", "茶叶"]
    assert result.df["order_date"].to_list() == [day(2024, 1, 5), day(2024, 2, 10)]
    assert result.df["amount"].to_list() == [120.5, 88.0]
    assert result.df.schema["order_date"] == pl.Datetime("us")
    assert report.rows_read == 2 and report.rows_kept == 2 and report.problems == ()


def test_gb18030_only_characters():
    name = "𠮷野家"  # U+20BB7 needs GB18030's four-byte form; GBK cannot encode it
    with pytest.raises(UnicodeEncodeError):
        name.encode("gbk")
    text = f"客户编号,客户名称,注册日期\nC1,{name},2023-03-01\nC2,￥商户,2023-04-01\n"
    result = read_table(text.encode("gb18030"), kind="customers")
    assert result.report.encoding == "gb18030"
    assert result.df["name"].to_list() == [name, "￥商户"]


def test_utf8_bom_is_stripped_from_the_first_header():
    data = "\ufeff客户ID,订单日期,实付金额\nC1,2024-01-05,10\n".encode("utf-8")
    result = read_table(data)
    assert result.report.encoding == "utf-8-sig"
    assert result.report.headers == ("客户ID", "订单日期", "实付金额")
    assert result.report.mapping["客户ID"] == "customer_id"


def test_utf16_tab_separated_unicode_text():
    text = "客户编号\t交易日期\t交易金额\n00123\t2024/1/5\t1,234.50\n00124\t2024/1/6\t-20\n"
    result = read_table(text.encode("utf-16"))  # Excel "Unicode text": UTF-16 LE with BOM, tabs
    assert result.report.encoding == "utf-16"
    assert result.report.delimiter == "\t"
    assert result.df["amount"].to_list() == [1234.5, -20.0]
    assert result.df["customer_id"].to_list() == ["00123", "00124"]


def test_utf16_without_a_bom():
    text = "customer_id\torder_date\tamount\nC1\t2024-01-05\t3\n"
    result = read_table(text.encode("utf-16-le"))
    assert result.report.encoding == "utf-16-le" and result.df["amount"].to_list() == [3.0]


def test_undecodable_bytes_are_replaced_and_reported():
    # valid UTF-8, then bytes that are neither UTF-8 nor GB18030 nor anything sensible
    data = b"customer_id,order_date,amount,note\nC1,2024-01-05,10,ok\n" + b"C2,2024-01-06,20,\xff\xff\x80\n"
    result = read_table(data)
    assert result.df.height == 2 and result.df["note"][0] == "ok"
    assert {i.key for i in result.report.issues} & {"encoding_guessed", "encoding_replaced"}
    assert result.report.encoding not in ("utf-8", "gb18030")


REGIONS_EVEN = ["华东", "华南", "华北", "西南", "东北", "华中"]  # 6 UTF-8 bytes: the whole file decodes as GB18030
REGIONS_ODD = ["上海市", "华南", "北京市", "西南区", "东北", "华中"]  # 9 bytes then a comma: GB18030 fails


def pasted_export(regions: list[str]) -> bytes:
    """A GBK export whose rows alternate with rows pasted from a UTF-8 one (row 2 UTF-8, row 3 GBK …)."""
    lines = ["客户编号,下单日期,金额,地区".encode("gbk")]
    for i, region in enumerate(regions * 2):
        lines.append(f"C{i},2024-01-{i + 1:02d},{10 + i},{region}".encode("utf-8" if i % 2 == 0 else "gbk"))
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("regions", [REGIONS_EVEN, REGIONS_ODD], ids=["whole-file-decodes", "whole-file-fails"])
def test_a_file_of_mixed_encodings_is_read_line_by_line_and_reported(regions):
    data = pasted_export(regions)
    if regions is REGIONS_EVEN:  # what a whole-file GB18030 decode stored, silently
        assert "鍗庝笢" in data.decode("gb18030")
    result = read_table(data)
    assert result.df["region"].to_list() == regions * 2
    assert result.report.encoding == "gb18030+utf-8"
    assert result.report.headers == ("客户编号", "下单日期", "金额", "地区")
    mixed = next(i for i in result.report.issues if i.key == "encoding_mixed")
    # 6 UTF-8 rows (file lines 2, 4 … 12); 6 GBK rows plus the GBK header
    assert mixed.count == 6 and mixed.params["main_count"] == "7"
    assert mixed.params["encoding"] == "GB18030" and mixed.params["other"] == "UTF-8"
    assert mixed.params["lines"] == "2, 4, 6"
    assert [e["_row"] for e in mixed.examples] == [2, 4, 6]
    assert [e["地区"] for e in mixed.examples] == [regions[0], regions[2], regions[4]]
    assert mixed.severity == "info" and result.report.problems == ()
    assert sniff_headers(data) == ["客户编号", "下单日期", "金额", "地区"]


def test_a_utf8_export_with_gbk_rows_pasted_in_is_read_too():
    lines = ["客户编号,下单日期,金额,地区".encode()] + [
        f"C{i},2024-01-0{i + 1},{i},{region}".encode("gbk" if i in (2, 5) else "utf-8")
        for i, region in enumerate(["华东", "华南", "华北", "西南", "东北", "华中"])]
    result = read_table(b"\n".join(lines))
    assert result.df["region"].to_list() == ["华东", "华南", "华北", "西南", "东北", "华中"]
    mixed = next(i for i in result.report.issues if i.key == "encoding_mixed")
    assert mixed.count == 2 and mixed.params["other"] == "GB18030" and mixed.params["encoding"] == "UTF-8"
    assert mixed.params["lines"] == "4, 7"


def test_one_encoding_throughout_reports_no_mix():
    for encoding in ("gbk", "utf-8", "cp950"):
        text = "客戶編號,下單日期,金額,地區\n" + "".join(f"C{i},2024-01-0{i + 1},{i},台北\n" for i in range(5))
        result = read_table(text.encode(encoding))
        assert "encoding_mixed" not in {i.key for i in result.report.issues}, encoding
        assert result.df["region"].to_list() == ["台北"] * 5


def test_lines_valid_in_no_encoding_are_dropped_and_counted_not_stored_as_replacement_characters():
    lines = ["客户编号,下单日期,金额,地区".encode("gbk")]
    for i in range(20):  # lines 6 and 13 end in bytes no candidate reads (0xFF is no lead byte anywhere)
        lines.append(f"C{i},2024-01-{i + 1:02d},{10 + i},华东".encode("gbk") + (b"\xff\xfe" if i in (4, 11) else b""))
    result = read_table(b"\n".join(lines) + b"\n")
    report = result.report
    assert result.df.height == 18 and result.df["region"].to_list() == ["华东"] * 18
    assert "C4" not in result.df["customer_id"].to_list()
    assert not any("\ufffd" in str(v) for row in result.df.rows() for v in row)
    bad = next(i for i in report.issues if i.key == "encoding_undecodable")
    assert bad.count == 2 and bad.severity == "problem" and bad.action == "dropped"
    assert [e["_row"] for e in bad.examples] == [6, 13] and bad.examples[0]["客户编号"] == "C4"
    assert report.rows_read == 20 and report.rows_kept == 18
    assert result.rejected["_row"].to_list() == [6, 13]
    assert set(result.rejected["_reason"]) == {"encoding_undecodable"}
    assert report.encoding == "gb18030" and "encoding_replaced" not in {i.key for i in report.issues}


def test_utf8_lines_among_broken_ones_keep_their_text():
    good = "客户编号,下单日期,金额,备注\n" + "".join(f"C{i},2024-01-0{i + 1},{i},好评\n" for i in range(8))
    data = good.encode() + b"C9,2024-01-09,9,\xff\n"
    result = read_table(data)
    assert result.df.height == 8 and result.df["备注"].to_list() == ["好评"] * 8
    assert next(i for i in result.report.issues if i.key == "encoding_undecodable").examples[0]["_row"] == 10


def test_a_latin1_file_is_not_read_line_by_line_as_chinese():
    text = "customer_id,order_date,amount,name\n" + "".join(
        f"C{i},2024-01-0{i + 1},{i},{name}\n" for i, name in enumerate(["Müller", "José", "Ærø", "Straße", "Ça"]))
    result = read_table(text.encode("latin-1"))
    assert result.df["name"].to_list() == ["Müller", "José", "Ærø", "Straße", "Ça"]


@pytest.mark.parametrize("seed", range(20))
def test_duplicate_detection_does_not_depend_on_hash_values(seed):
    rng = random.Random(seed)
    rows = [[f"C{rng.randrange(10**9)}", "2024-01-05", str(rng.randrange(1000))] for _ in range(5)]
    data = csv_bytes([["customer_id", "order_date", "amount"]] + rows + [rows[2], rows[0]])
    result = read_table(data, drop_duplicates=True)
    assert issue(result, "duplicate_rows").count == 2
    assert result.df["customer_id"].to_list() == [r[0] for r in rows]


# ---------------------------------------------------------------------------------------------- delimiters

@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(delimiter):
    data = csv_bytes([["customer_id", "order_date", "amount", "product"],
                      ["C1", "2024-01-05", "10.5", "tea"], ["C2", "2024-01-06", "7", "cup"]], delimiter)
    result = read_table(data)
    assert result.report.delimiter == delimiter
    assert result.df["amount"].to_list() == [10.5, 7.0]


def test_semicolon_file_with_decimal_commas():
    data = b"Kundennummer;order_date;amount\nC1;05.01.2024;1.234,56\nC2;06.01.2024;12,5\n"
    result = read_table(data, mapping={"Kundennummer": "customer_id"})
    assert result.report.delimiter == ";"
    assert result.df["amount"].to_list() == [1234.56, 12.5]
    assert issue(result, "decimal_comma", "amount") is not None
    assert result.report.date_order == "day-first"  # "." with no part above 12: day-first by default
    assert result.df["order_date"].to_list() == [day(2024, 1, 5), day(2024, 1, 6)]
    assert issue(result, "date_order_assumed_day_first").count == 2


def test_pipes_and_quoted_fields_with_delimiters_quotes_and_newlines_inside():
    data = (b'customer_id|order_date|amount|product|note\n'
            b'C1|2024-01-05|"1,234.50"|"cup | large"|"said ""hi""\nthen left"\n'
            b'C2|2024-01-06|5|tea|\n')
    result = read_table(data)
    assert result.report.delimiter == "|"
    assert result.df["product"].to_list() == ["cup | large", "tea"]
    assert result.df["note"].to_list() == ['said "hi"\nthen left', None]
    assert result.df["amount"].to_list() == [1234.5, 5.0]
    assert result.report.unmapped == ("note",)


def test_quoted_commas_in_a_comma_file():
    data = b'customer_id,order_date,amount,product\nC1,2024-01-05,"1,234.50","Widget, large"\n'
    result = read_table(data)
    assert result.df.row(0) == ("C1", day(2024, 1, 5), 1234.5, "Widget, large")
    assert result.report.problems == ()


def test_ragged_rows_are_counted_and_dropped_not_crashed_on():
    data = b"customer_id,order_date,amount,product\nC1,2024-01-05,10,tea\nC2,2024-01-06,1,234.50,cup\nC3,2024-01-07,5\n"
    result = read_table(data)
    ragged = issue(result, "ragged_rows")
    assert ragged.count == 1 and ragged.action == "dropped" and ragged.severity == "problem"
    assert ragged.examples[0]["_row"] == 3
    assert result.df["customer_id"].to_list() == ["C1", "C3"]  # a short row is kept; its product is empty
    assert result.df["product"].to_list() == ["tea", None]
    assert result.rejected["_reason"].to_list() == ["ragged_rows"]


def test_trailing_delimiters_and_blank_lines_are_harmless():
    data = b"customer_id,order_date,amount,\nC1,2024-01-05,10,\n\nC2,2024-01-06,20,\n\n"
    result = read_table(data)
    assert result.report.rows_read == 2 and result.report.rows_kept == 2
    assert result.df.columns == ["customer_id", "order_date", "amount"]  # the empty unnamed column is gone
    assert result.report.problems == ()


def test_title_rows_above_the_header_and_excel_sep_line():
    data = "销售明细报表\n导出时间：2024-02-01\n\n客户编号,下单日期,订单金额\nC1,2024-01-05,10\n".encode("gbk")
    result = read_table(data)
    assert issue(result, "title_rows_skipped").count == 3
    assert result.df["customer_id"].to_list() == ["C1"]
    assert result.rejected.height == 0
    sep = b"sep=;\ncustomer_id;order_date;amount\nC1;2024-01-05;3,5\n"
    result = read_table(sep)
    assert result.report.delimiter == ";" and result.df["amount"].to_list() == [3.5]


# ---------------------------------------------------------------------------------------------- headers

def test_header_spellings_regardless_of_case_spaces_and_punctuation():
    data = b"  Customer ID ,Invoice-Date,TOTAL PRICE,Order No.\nC1,2024-01-05,10,A1\n"
    result = read_table(data)
    assert result.report.headers == ("Customer ID", "Invoice-Date", "TOTAL PRICE", "Order No.")
    assert result.report.mapping == {"Customer ID": "customer_id", "Invoice-Date": "order_date",
                                     "TOTAL PRICE": "amount", "Order No.": "order_id"}


def test_duplicate_and_blank_headers():
    data = "客户编号,下单时间,金额,金额,\nC1,2024-01-05,10,99,x\n".encode()
    result = read_table(data)
    assert result.report.headers == ("客户编号", "下单时间", "金额", "金额 (2)", "column_5")
    assert result.report.mapping["金额"] == "amount"  # the first one
    assert result.df["amount"].to_list() == [10.0]
    assert result.df["金额 (2)"].to_list() == ["99"] and result.df["column_5"].to_list() == ["x"]
    assert issue(result, "duplicate_headers", "金额").count == 2
    assert issue(result, "empty_headers").count == 1
    assert sniff_headers(data) == list(result.report.headers)


def test_extra_columns_are_kept_as_text_after_the_canonical_ones():
    data = b"amount,customer_id,order_date,vip_level,zip\n10,C1,2024-01-05,3,01234\n"
    result = read_table(data)
    assert result.df.columns == ["customer_id", "order_date", "amount", "vip_level", "zip"]
    assert result.df.schema["vip_level"] == pl.String and result.df["zip"].to_list() == ["01234"]
    assert result.report.unmapped == ("vip_level", "zip")


# ---------------------------------------------------------------------------------------------- dates

def test_mixed_date_formats_in_one_column_all_parse():
    values = ["2024-01-05", "2024/1/5", "2024年1月5日", "２０２４年１月５日", "20240105", "45296",
              "2024-01-05 13:45:00", "2024/1/5 9:05", "2024-01-05T13:45:00Z", "2024.1.5", "Jan 5, 2024",
              "05-Jan-2024", "2024年1月5日 08:30"]
    data = csv_bytes([["customer_id", "order_date", "amount"]] + [[f"C{i}", v, "1"] for i, v in enumerate(values)])
    result = read_table(data)
    assert result.report.problems == ()
    got = result.df["order_date"].to_list()
    assert [d.date() for d in got] == [date(2024, 1, 5)] * len(values)
    assert got[6] == day(2024, 1, 5, 13, 45) and got[7] == day(2024, 1, 5, 9, 5) and got[12] == day(2024, 1, 5, 8, 30)
    assert issue(result, "excel_serial_dates").count == 1
    assert result.report.date_order == "year-first"


def test_day_first_detected_from_a_first_part_above_12():
    data = csv_bytes([["customer_id", "order_date", "amount"], ["C1", "05/01/2024", "1"], ["C2", "13/01/2024", "1"],
                      ["C3", "31/12/2023 18:00", "1"]])
    result = read_table(data)
    assert result.report.date_order == "day-first"
    assert result.df["order_date"].to_list() == [day(2024, 1, 5), day(2024, 1, 13), day(2023, 12, 31, 18)]
    evidence = issue(result, "date_order_day_first")
    assert evidence.count == 2 and evidence.severity == "info"
    assert {e["_row"] for e in evidence.examples} == {3, 4}


def test_month_first_detected_from_a_second_part_above_12():
    data = csv_bytes([["customer_id", "order_date", "amount"], ["C1", "01/05/2024", "1"], ["C2", "01/13/2024", "1"],
                      ["C3", "12/31/2023 6:30 PM", "1"]])
    result = read_table(data)
    assert result.report.date_order == "month-first"
    assert result.df["order_date"].to_list() == [day(2024, 1, 5), day(2024, 1, 13), day(2023, 12, 31, 18, 30)]
    assert issue(result, "date_order_month_first").count == 2


def test_undecidable_slash_dates_default_month_first_and_say_so():
    data = csv_bytes([["customer_id", "order_date", "amount"], ["C1", "01/05/2024", "1"], ["C2", "02/03/2024", "1"]])
    result = read_table(data)
    assert result.report.date_order == "month-first"
    assert result.df["order_date"].to_list() == [day(2024, 1, 5), day(2024, 2, 3)]
    assert issue(result, "date_order_assumed_month_first").count == 2
    forced = read_table(data, date_order="day-first")
    assert forced.report.date_order == "day-first"
    assert forced.df["order_date"].to_list() == [day(2024, 5, 1), day(2024, 3, 2)]
    assert not [i for i in forced.report.issues if i.key.startswith("date_order")]


def test_conflicting_orders_use_the_majority_and_report_the_rest():
    data = csv_bytes([["customer_id", "order_date", "amount"], ["C1", "13/01/2024", "1"], ["C2", "14/01/2024", "1"],
                      ["C3", "01/15/2024", "1"]])
    result = read_table(data)
    assert result.report.date_order == "day-first"
    assert issue(result, "date_order_conflict").count == 1
    bad = issue(result, "unparseable_date", "order_date")
    assert bad.count == 1 and bad.action == "dropped" and bad.examples[0]["order_date"] == "01/15/2024"
    assert result.rejected["order_date"].to_list() == ["01/15/2024"]


def test_two_digit_years():
    result = read_table(csv_bytes([["customer_id", "order_date", "amount"], ["C1", "1/5/24", "1"],
                                   ["C2", "12/31/99", "1"], ["C3", "3/4/68", "1"]]))
    assert result.report.date_order == "month-first"
    assert result.df["order_date"].to_list() == [day(2024, 1, 5), day(1999, 12, 31), day(2068, 3, 4)]
    assert issue(result, "two_digit_years").count == 3
    dotted = read_table(csv_bytes([["customer_id", "order_date", "amount"], ["C1", "13.01.24", "1"],
                                   ["C2", "05.01.70", "1"]]))
    assert dotted.df["order_date"].to_list() == [day(2024, 1, 13), day(1970, 1, 5)]


def test_excel_serial_numbers_only_in_a_plausible_range():
    data = csv_bytes([["customer_id", "order_date", "amount"], ["C1", "45296", "1"], ["C2", "45296.5", "1"],
                      ["C3", "123", "1"], ["C4", "2958465", "1"]])
    result = read_table(data)
    assert result.df["order_date"].to_list() == [day(2024, 1, 5), day(2024, 1, 5, 12)]
    assert issue(result, "unparseable_date", "order_date").count == 2
    assert sorted(result.rejected["_row"].to_list()) == [4, 5]


def test_invalid_calendar_dates_are_not_parsed():
    data = csv_bytes([["customer_id", "order_date", "amount"], ["C1", "2024-02-30", "1"], ["C2", "2023-02-29", "1"],
                      ["C3", "2024-02-29", "1"], ["C4", "2024-13-01", "1"], ["C5", "2024-01-05 25:00", "1"]])
    result = read_table(data)
    assert result.df["order_date"].to_list() == [day(2024, 2, 29)]
    assert issue(result, "unparseable_date", "order_date").count == 4


def test_optional_date_that_fails_becomes_null_with_a_problem():
    data = "客户编号,客户名称,注册日期,生日\nC1,甲,2023-01-05,1990/7/1\nC2,乙,不详,1985-13-01\nC3,丙,,\n".encode()
    result = read_table(data, kind="customers")
    assert result.df["signup_date"].to_list() == [day(2023, 1, 5), None, None]
    assert result.df["birthday"].to_list() == [day(1990, 7, 1), None, None]
    signup = issue(result, "unparseable_date", "signup_date")
    assert signup.count == 1 and signup.action == "set_null" and signup.severity == "problem"
    assert signup.examples == ({"_row": 3, "注册日期": "不详", "客户编号": "C2", "客户名称": "乙",
                                "生日": "1985-13-01"},)
    assert issue(result, "unparseable_date", "birthday").count == 1
    assert result.report.rows_kept == 3


def test_future_dates_relative_to_the_today_argument_only():
    data = csv_bytes([["customer_id", "order_date", "amount"], ["C1", "2024-01-05", "1"],
                      ["C2", "2024-03-01 10:00", "1"],
                      ["C3", "2099-01-01", "1"]])
    assert issue(read_table(data), "future_dates") is None  # no clock in the core
    result = read_table(data, today=date(2024, 3, 1))
    future = issue(result, "future_dates", "order_date")
    assert future.count == 1 and future.severity == "info" and future.action == "kept"
    assert result.report.rows_kept == 3


# ---------------------------------------------------------------------------------------------- amounts

def test_currency_strings():
    amounts = {"¥1,234.50": 1234.5, "￥1,234.50": 1234.5, "$1,000": 1000.0, "RMB 88": 88.0, "CNY88": 88.0,
               "88元": 88.0, "(300.00)": -300.0, "300-": -300.0, "-¥200": -200.0, "¥-200": -200.0,
               "１２３．５": 123.5, "1.2万": 12000.0, "3亿": 3e8, "€ 9.99": 9.99, "£5": 5.0, "+7": 7.0,
               "1,234,567.8": 1234567.8, "1'234.5": 1234.5, "($1,000.00)": -1000.0, "0": 0.0, "−12": -12.0}
    data = csv_bytes([["customer_id", "order_date", "amount"]]
                     + [[f"C{i}", "2024-01-05", text] for i, text in enumerate(amounts)])
    result = read_table(data)
    assert result.report.problems == ()
    assert result.df["amount"].to_list() == pytest.approx(list(amounts.values()))
    assert issue(result, "negative_amounts").count == 6
    assert issue(result, "zero_amounts").count == 1


def test_ambiguous_or_broken_amounts_are_unparseable_not_guessed():
    data = csv_bytes([["customer_id", "order_date", "amount"], ["C1", "2024-01-05", "1,234.50"],
                      ["C2", "2024-01-05", "12,5"], ["C3", "2024-01-05", "abc"], ["C4", "2024-01-05", "(5"],
                      ["C5", "2024-01-05", "1.2.3"], ["C6", "2024-01-05", ""], ["C7", "2024-01-05", "N/A"],
                      ["C8", "2024-01-05", "inf"]])
    result = read_table(data)
    assert result.df["amount"].to_list() == [1234.5]
    assert issue(result, "unparseable_amount").count == 5  # 12,5 in a dot-decimal column is not 125
    assert issue(result, "missing_required", "amount").count == 2  # empty and N/A


def test_parse_numbers_directly():
    values, decimal_comma = parse_numbers(pl.Series("x", ["1.234,5", "2,25", None]))
    assert decimal_comma and values.to_list() == [1234.5, 2.25, None]
    values, decimal_comma = parse_numbers(pl.Series("x", ["1.234", "1,234"]))
    assert not decimal_comma and values.to_list() == [1.234, 1234.0]


def test_amount_derived_from_quantity_times_unit_price():
    data = "客户编号,下单时间,数量,单价\nC1,2024-01-05,2,9.5\nC2,2024-01-06,3,¥10\nC3,2024-01-07,,5\n".encode()
    result = read_table(data)
    assert result.df["amount"].to_list() == [19.0, 30.0]
    assert result.df.columns[:3] == ["customer_id", "order_date", "amount"]
    assert issue(result, "derived_amount").count == 2
    assert issue(result, "missing_required", "amount").count == 1


def test_optional_numbers_that_fail_become_null():
    data = b"customer_id,order_date,amount,quantity\nC1,2024-01-05,10,2\nC2,2024-01-05,10,two\n"
    result = read_table(data)
    assert result.df["quantity"].to_list() == [2.0, None]
    bad = issue(result, "unparseable_number", "quantity")
    assert bad.count == 1 and bad.action == "set_null"


# ---------------------------------------------------------------------------------------------- ids and rows

def test_ids_are_text_exactly_as_written_and_trimmed():
    data = b"customer_id,order_date,amount,order_id\n 00123 ,2024-01-05,1,0001\n12345,2024-01-05,2,A-1\n"
    result = read_table(data)
    assert result.df["customer_id"].to_list() == ["00123", "12345"]
    assert result.df["order_id"].to_list() == ["0001", "A-1"]


def test_float_formatted_ids_and_scientific_ids():
    data = b"customer_id,order_date,amount\n12345.0,2024-01-05,1\n678.0,2024-01-05,2\n"
    result = read_table(data)
    assert result.df["customer_id"].to_list() == ["12345", "678"]
    assert issue(result, "id_float_suffix_removed").count == 2
    data = b"customer_id,order_date,amount\n1.23457E+11,2024-01-05,1\n123456789012,2024-01-05,2\n"
    result = read_table(data)
    assert result.df["customer_id"].to_list() == ["1.23457E+11", "123456789012"]
    assert issue(result, "scientific_ids").count == 1


def test_repeated_lines_are_kept_and_counted_by_default():
    # a receipt that scans the same item twice repeats a line exactly: both are sales
    data = csv_bytes([["customer_id", "order_date", "amount", "product"],
                      ["C1", "2024-01-05", "10", "tea"], ["C1", "2024-01-05", "10", "tea"],
                      ["C1", "2024-01-05", "10", "cup"], ["C1", "2024-01-05", "10", "tea"]])
    result = read_table(data)
    assert result.df.height == 4 and result.df["amount"].sum() == 40
    kept = issue(result, "duplicate_rows_kept")
    assert kept.count == 2 and kept.action == "kept" and kept.severity == "info"
    assert [e["_row"] for e in kept.examples] == [3, 5]
    assert issue(result, "duplicate_rows") is None


def test_duplicate_rows_and_missing_ids_are_dropped_with_examples():
    data = csv_bytes([["customer_id", "order_date", "amount", "product"],
                      ["C1", "2024-01-05", "10", "tea"], ["C1", "2024-01-05", "10", "tea"],
                      ["C1", "2024-01-05", "10", "cup"], ["", "2024-01-05", "10", "tea"],
                      ["null", "2024-01-06", "3", "x"],
                      ["C1", "2024-01-05", "10", "tea"]])
    result = read_table(data, drop_duplicates=True)
    duplicates = issue(result, "duplicate_rows")
    assert duplicates.count == 2 and duplicates.action == "dropped"
    assert [e["_row"] for e in duplicates.examples] == [3, 7]
    missing = issue(result, "missing_customer_id")
    assert missing.count == 2 and [e["_row"] for e in missing.examples] == [5, 6]
    assert result.report.rows_read == 6 and result.report.rows_kept == 2
    assert result.rejected.columns == ["_row", "_reason", "customer_id", "order_date", "amount", "product"]
    assert result.rejected.sort("_row")["_reason"].to_list() == [
        "duplicate_rows", "missing_customer_id", "missing_customer_id", "duplicate_rows"]
    # every dropped row is accounted for exactly once
    dropped = sum(i.count for i in result.report.issues if i.action == "dropped")
    assert dropped == result.report.rows_read - result.report.rows_kept == result.rejected.height


def test_examples_are_capped_at_five():
    rows = [["customer_id", "order_date", "amount"]] + [[f"C{i}", "bad", "1"] for i in range(9)] + [
        ["C9", "2024-01-05", "1"]]
    result = read_table(csv_bytes(rows))
    bad = issue(result, "unparseable_date")
    assert bad.count == 9 and len(bad.examples) == 5 and bad.examples[0]["_row"] == 2


# ---------------------------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n", b"\x00\x00\x00"])
def test_empty_file(data):
    with pytest.raises(DataError) as err:
        read_table(data)
    assert err.value.key == "io.error.empty"


def test_header_only_file():
    with pytest.raises(DataError) as err:
        read_table(b"customer_id,order_date,amount\n\n")
    assert err.value.key == "io.error.header_only"
    assert err.value.params["headers"] == "customer_id, order_date, amount"


def test_missing_required_columns_name_them_and_list_the_headers():
    with pytest.raises(DataError) as err:
        read_table("客户编号,备注\nC1,x\n".encode())
    assert err.value.key == "io.error.missing_columns"
    assert err.value.params == {"columns": "order_date", "headers": "客户编号, 备注", "kind": "transactions"}
    # quantity alone cannot make an amount: the lines load without money, and the report says so
    result = read_table(b"customer_id,order_date,quantity\nC1,2024-01-05,1\n")
    assert result.df["amount"].null_count() == 1 and issue(result, "no_amounts").count == 1


@pytest.mark.parametrize("seed", range(5))
def test_junk_bytes_raise_data_error(seed):
    junk = random.Random(seed).randbytes(4096)
    with pytest.raises(DataError) as err:
        read_table(junk)
    assert err.value.key in ERROR_KEYS


@pytest.mark.parametrize("data,key", [
    (b"%PDF-1.7\n...", "io.error.unsupported_format"),
    (b"<!DOCTYPE html><html><body>login</body></html>", "io.error.not_a_table"),
    (b'[{"customer_id": 1}]', "io.error.not_a_table"),
    (b"PK\x03\x04garbage", "io.error.unreadable"),
    (b"PAR1garbage", "io.error.unreadable"),
])
def test_not_a_table(data, key):
    with pytest.raises(DataError) as err:
        read_table(data)
    assert err.value.key == key


def test_size_and_row_limits(tmp_path):
    data = csv_bytes([["customer_id", "order_date", "amount"]] + [[f"C{i}", "2024-01-05", "1"] for i in range(50)])
    with pytest.raises(DataError) as err:
        read_table(data, max_bytes=100)
    assert err.value.key == "io.error.too_large" and err.value.params["limit_mb"] == 0.0
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    with pytest.raises(DataError) as err:
        read_table(path, max_bytes=100)
    assert err.value.key == "io.error.too_large"
    with pytest.raises(DataError) as err:
        read_table(data, max_rows=10)
    assert err.value.key == "io.error.too_many_rows"
    assert read_table(data, max_rows=50).report.rows_kept == 50
    with pytest.raises(DataError) as err:
        read_table(data, max_columns=2)
    assert err.value.key == "io.error.too_many_columns"


def test_data_error_pickles_for_caches_and_workers():
    import pickle

    err = pickle.loads(pickle.dumps(DataError("io.error.too_large", {"size_mb": 3.0, "limit_mb": 1.0})))
    assert err.key == "io.error.too_large" and err.params == {"size_mb": 3.0, "limit_mb": 1.0}


def test_bad_arguments_are_data_errors():
    data = b"customer_id,order_date,amount\nC1,2024-01-05,1\n"
    for call, key in [(lambda: read_table(data, kind="orders"), "io.error.unknown_kind"),
                      (lambda: read_table(data, date_order="sideways"), "io.error.bad_option"),
                      (lambda: read_table(12345), "io.error.unreadable"),
                      (lambda: read_table("/nonexistent/file.csv"), "io.error.file_not_found")]:
        with pytest.raises(DataError) as err:
            call()
        assert err.value.key == key


def test_zip_bomb_is_refused_before_parsing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (4 * 1024 * 1024))  # compresses ~1000:1
    with pytest.raises(DataError) as err:
        read_table(buffer.getvalue())
    assert err.value.key == "io.error.suspicious_archive" and err.value.params["ratio"] > 100
    with pytest.raises(DataError) as err:
        read_table(buffer.getvalue(), max_bytes=512 * 1024)  # unzipped total over 5 × max_bytes
    assert err.value.key == "io.error.too_large"
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(DataError) as err:
        read_table(plain.getvalue())
    assert err.value.key == "io.error.unsupported_format"


# ---------------------------------------------------------------------------------------------- mapping

def test_mapping_override():
    data = "Kunde,Datum,Betrag,金额,Notiz\nC1,2024-01-05,10,999,x\n".encode()
    result = read_table(data, mapping={"Kunde": "customer_id", "Datum": "order_date", "Betrag": "amount", "金额": ""})
    assert result.report.mapping == {"Kunde": "customer_id", "Datum": "order_date", "Betrag": "amount"}
    assert result.df["amount"].to_list() == [10.0]
    assert result.report.unmapped == ("金额", "Notiz")
    # headers the mapping does not name are still detected; names not in the file are ignored
    result = read_table(data, mapping={"Kunde": "customer_id", "Datum": "order_date", "gone": "product"})
    assert result.report.mapping["金额"] == "amount"  # detected for the rest


def test_mapping_errors():
    data = b"a,b,c\nC1,2024-01-05,1\n"
    with pytest.raises(DataError) as err:
        read_table(data, mapping={"a": "customer_id", "b": "customer_id", "c": "amount"})
    assert err.value.key == "io.error.duplicate_mapping"
    assert err.value.params == {"column": "customer_id", "headers": "a, b"}
    with pytest.raises(DataError) as err:
        read_table(data, mapping={"a": "customer_id", "b": "order_date", "c": "salary"})
    assert err.value.key == "io.error.unknown_column" and err.value.params["column"] == "salary"


def test_ignored_header_named_like_a_canonical_column_keeps_a_distinct_name():
    data = b"amount,total,customer_id,order_date\n1,2,C1,2024-01-05\n"
    result = read_table(data, mapping={"total": "amount", "amount": None})
    assert result.df["amount"].to_list() == [2.0]
    assert result.df["amount (2)"].to_list() == ["1"]


# ---------------------------------------------------------------------------------------------- kinds

def test_customers_keep_the_first_row_per_customer_id():
    data = ("客户编号,客户名称,所在城市,注册时间\nC1,甲公司,上海,2023-01-01\nC2,乙公司,北京,2023-02-01\n"
            "C1,甲公司(重复),上海,2023-03-01\n").encode()
    result = read_table(data, kind="customers")
    assert result.df["customer_id"].to_list() == ["C1", "C2"]
    assert result.df["name"].to_list() == ["甲公司", "乙公司"]
    repeated = issue(result, "duplicate_customer_id")
    assert repeated.count == 1 and repeated.examples[0]["_row"] == 4
    assert result.df.schema["signup_date"] == pl.Datetime("us")


def test_interactions():
    data = ("客户编号,跟进时间,跟进方式,满意度,跟进内容\nC1,2024-01-05 10:00,电话,5,聊了续约\nC2,2024-01-06,拜访,9,\n"
            "C3,2024-01-07,,3,\n").encode()
    result = read_table(data, kind="interactions")
    assert result.df.columns == ["customer_id", "date", "type", "satisfaction", "note"]
    assert result.df["satisfaction"].to_list() == [5.0, None]
    assert issue(result, "out_of_range", "satisfaction").count == 1
    assert issue(result, "missing_required", "type").count == 1
    assert result.df["date"].to_list() == [day(2024, 1, 5, 10), day(2024, 1, 6)]


def test_transactions_need_only_the_required_columns():
    result = read_table(b"customer_id,order_date,amount\nC1,2024-01-05,1\n")
    assert result.df.columns == ["customer_id", "order_date", "amount"]
    assert result.df.schema == pl.Schema({"customer_id": pl.String, "order_date": pl.Datetime("us"),
                                          "amount": pl.Float64})


# ---------------------------------------------------------------------------------------------- excel, parquet

def write_workbook(path: Path) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    notes = workbook.add_worksheet("说明")
    notes.write(0, 0, "本工作簿由 CRM 导出")
    sheet = workbook.add_worksheet("订单")
    as_date = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, ["客户编号", "下单时间", "金额", "订单号", "手机"])
    rows = [(12345, datetime(2024, 1, 5, 13, 45), 120.5, 9001, 13800138000),
            ("00123", datetime(2024, 1, 6), "￥2,000.00", "SO-2", None),
            (678.0, 45298, -30, 9003, None)]
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, datetime):
                sheet.write_datetime(r, c, value, as_date)
            elif value is not None:
                sheet.write(r, c, value)
    workbook.close()


def test_real_xlsx_named_sheet_datetime_cells_and_numeric_ids(tmp_path):
    path = tmp_path / "export.xlsx"
    write_workbook(path)
    result = read_table(path, sheet="订单")
    report = result.report
    assert report.file_format == "xlsx" and report.sheet == "订单"
    assert result.df["customer_id"].to_list() == ["12345", "00123", "678"]  # never 12345.0
    assert result.df["order_id"].to_list() == ["9001", "SO-2", "9003"]
    assert result.df["order_date"].to_list() == [day(2024, 1, 5, 13, 45), day(2024, 1, 6), day(2024, 1, 7)]
    assert result.df["amount"].to_list() == [120.5, 2000.0, -30.0]
    assert result.df["手机"].to_list() == ["13800138000", None, None]
    assert sniff_headers(path, sheet="订单") == ["客户编号", "下单时间", "金额", "订单号", "手机"]
    # the first sheet is a note without the needed columns; by name the reader is told which to use
    with pytest.raises(DataError) as err:
        read_table(path)
    assert err.value.key == "io.error.missing_columns"
    with pytest.raises(DataError) as err:
        read_table(path, sheet="Sheet9")
    assert err.value.key == "io.error.sheet_not_found" and err.value.params["sheets"] == "说明, 订单"
    assert read_table(path, sheet=1).report.sheet == "订单"
    assert list_sheets(path) == ["说明", "订单"]
    assert list_sheets(b"customer_id,order_date,amount\nC1,2024-01-05,1\n") == []


def test_xlsx_detected_from_magic_bytes_not_the_name(tmp_path):
    path = tmp_path / "export.xlsx"
    write_workbook(path)
    renamed = tmp_path / "export.csv"
    renamed.write_bytes(path.read_bytes())
    assert read_table(renamed, sheet="订单").report.file_format == "xlsx"
    upload = io.BytesIO(path.read_bytes())
    upload.name = "upload.bin"
    upload.read()  # a widget may have read it already
    result = read_table(upload, sheet="订单")
    assert result.report.source_name == "upload.bin" and result.report.rows_kept == 3


def test_legacy_xls_workbook():
    """A BIFF8 ``.xls`` as older CRMs export (tests/core/data/orders_legacy.xls, written once with xlwt 1.3.0)."""
    result = read_table(Path(__file__).parent / "data" / "orders_legacy.xls")
    assert result.report.file_format == "xls" and result.report.sheet == "订单"
    assert result.df["customer_id"].to_list() == ["K001", "K001", "K002"]
    assert result.df["order_date"].to_list() == [datetime(2024, 1, 5), datetime(2024, 3, 9), datetime(2024, 1, 20)]
    assert result.df["amount"].to_list() == [1200.0, 300.5, 500.0]
    assert result.df["product"].to_list() == ["打印纸", "墨盒", "打印纸"]


def test_parquet_with_typed_columns(tmp_path):
    frame = pl.DataFrame({
        "CustomerID": [12345, 678, None],
        "InvoiceDate": [datetime(2024, 1, 5, 13, 45), datetime(2024, 1, 6), datetime(2024, 1, 7)],
        "TotalPrice": [10.5, -2.0, 3.0],
        "Quantity": [1, 2, 3],
        "tags": [["a"], ["b"], []],
    }).with_columns(pl.col("InvoiceDate").dt.replace_time_zone("Asia/Shanghai"))
    path = tmp_path / "tx.parquet"
    frame.write_parquet(path)
    result = read_table(path)
    assert result.report.file_format == "parquet"
    assert result.df["customer_id"].to_list() == ["12345", "678"]
    assert result.df["order_date"].to_list() == [day(2024, 1, 5, 13, 45), day(2024, 1, 6)]  # wall time kept
    assert result.df["amount"].to_list() == [10.5, -2.0] and result.df["quantity"].to_list() == [1.0, 2.0]
    assert issue(result, "missing_customer_id").count == 1
    assert issue(result, "unsupported_columns").column == "tags"
    assert sniff_headers(path) == ["CustomerID", "InvoiceDate", "TotalPrice", "Quantity", "tags"]
    floats = pl.DataFrame({"customer_id": [12345.0, 1.5], "order_date": [date(2024, 1, 5)] * 2, "amount": [1.0, 2.0]})
    buffer = io.BytesIO()
    floats.write_parquet(buffer)
    result = read_table(buffer.getvalue())
    assert result.df["customer_id"].to_list() == ["12345", "1.5"]
    assert result.report.date_order is None  # real dates: no order was chosen


# ---------------------------------------------------------------------------------------------- report

def test_report_round_trips_through_json():
    data = csv_bytes([["客户编号", "下单时间", "金额"], ["C1", "05/01/2024", "-5"], ["", "13/01/2024", "1"]])
    result = read_table(data, today=date(2024, 1, 1))
    restored = LoadReport.from_dict(json.loads(json.dumps(result.report.to_dict(), ensure_ascii=False)))
    assert restored == result.report
    assert restored.problems == result.report.problems and len(restored.problems) == 1


def test_sniff_headers_matches_read_table_for_uploads():
    text = "\ufeff销售明细\n客户编号,下单时间,金额,金额\nC1,2024-01-05,1,2\n"
    upload = io.BytesIO(text.encode("utf-8"))
    upload.name = "明细.csv"
    headers = sniff_headers(upload)
    result = read_table(upload)
    assert headers == list(result.report.headers) == ["客户编号", "下单时间", "金额", "金额 (2)"]
    assert result.report.source_name == "明细.csv"


def test_sniff_headers_only_raises_data_error():
    for data in (b"", random.Random(1).randbytes(300), b"PK\x03\x04xx", b"PAR1xx"):
        with pytest.raises(DataError):
            sniff_headers(data)


# ---------------------------------------------------------------------------------------------- translations

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_key_has_a_template_that_formats(lang):
    catalog = ui_catalog(lang)
    package = Path(__file__).resolve().parents[2] / "crm_core" / "io"
    source = "\n".join(path.read_text() for path in sorted(package.glob("*.py")))
    used = set(re.findall(r'"(io\.error\.[a-z_]+)"', source))
    assert used, package
    assert used <= set(ERROR_KEYS)
    for key in ERROR_KEYS:
        assert key in catalog, key
    for key in ISSUE_KEYS:
        template = catalog[f"io.issue.{key}"]
        template.format(count=3, column="amount", other="AMOUNT", median="1", rival_median="52",
                        encoding="GB18030", main_count="4", lines="2, 4, 6")
        if key not in ("encoding_guessed", "encoding_traditional", "no_header", "whitespace_delimited"):
            assert "{count}" in template or "{column}" in template, key
    for order in DATE_ORDERS:
        assert f"io.date_order.{order}" in catalog
    if lang == "zh":
        assert all(re.search(r"[\u4e00-\u9fff]", catalog[k]) for k in catalog if k.startswith("io.issue."))


def test_every_issue_key_emitted_is_declared():
    samples = [
        b"customer_id,order_date,amount\nC1,1/5/24,1\nC1,1/5/24,1\n,2024-01-05,0\nC2,x,1\nC3,2024-01-06,-1\n",
        "客户编号,下单时间,数量,单价\nC1,45296,1,2\n".encode("gbk"),
    ]
    seen = set()
    for data in samples:
        for found in read_table(data, today=date(2020, 1, 1)).report.issues:
            seen.add(found.key)
            assert found.key in ISSUE_KEYS
            assert found.severity in ("problem", "info") and found.action in ("dropped", "set_null", "kept")
    assert {"duplicate_rows_kept", "missing_customer_id", "unparseable_date", "two_digit_years", "derived_amount",
            "excel_serial_dates", "future_dates", "negative_amounts"} <= seen


def test_dropped_rows_and_examples_never_show_raw_phones_or_emails():
    customers = ("客户编号,客户名称,手机,邮箱\nC1,甲,13812345678,zhang.wei@example.com\n"
                 ",乙,13900001111,li@a.cn\n").encode()
    result = read_table(customers, kind="customers")
    assert result.rejected.select("手机", "邮箱").row(0) == ("139****1111", "l****@a.cn")
    example = next(i for i in result.report.issues if i.key == "missing_customer_id").examples[0]
    assert example["手机"] == "139****1111" and example["邮箱"] == "l****@a.cn"
    assert result.df["phone"].to_list() == ["13812345678"]  # the table itself keeps them (screens mask them)
    # in a transactions file the phone is an extra column: headed like one, it is masked too
    lines = "客户编号,下单时间,金额,联系电话\nC1,2024-01-05,10,13812345678\n,2024-01-05,10,+86 139-0000-1111\n".encode()
    result = read_table(lines)
    assert result.rejected["联系电话"].to_list() == ["139****1111"]
    assert result.df["联系电话"].to_list() == ["13812345678"]
