"""Real exports nobody on this project wrote (tests/data/real/, derived by make_fixtures.py).

Every Ta-Feng shape must load to the same lines, customers and sales total; the expected figures are
counted here from the original file with the csv module, not with the loader under test.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest

from crm_core.io import read_table, sniff_headers

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
SHAPES = ["ta_feng_original.csv", "ta_feng_big5.csv", "ta_feng_gb18030.csv"]


@pytest.fixture(scope="module")
def expected():
    text = (REAL / "ta_feng_original.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    return {"lines": len(rows), "customers": {r["CUSTOMER_ID"] for r in rows},
            "sales": sum(int(r["SALES_PRICE"]) for r in rows), "quantity": sum(int(r["AMOUNT"]) for r in rows),
            "days": {datetime.strptime(r["TRANSACTION_DT"], "%m/%d/%Y").date() for r in rows}}


def issue(result, key):
    return next((i for i in result.report.issues if i.key == key), None)


@pytest.mark.parametrize("name", SHAPES)
def test_every_ta_feng_shape_loads_the_same_lines_customers_and_sales(name, expected):
    result = read_table(REAL / name)
    df = result.df
    assert df.height == expected["lines"] == 4394
    assert set(df["customer_id"]) == expected["customers"]  # ids as text, leading zeros kept
    assert df["amount"].sum() == expected["sales"] == 524094
    assert df["quantity"].sum() == expected["quantity"]
    assert set(df["order_date"].dt.date()) == expected["days"]
    assert result.report.problems == ()
    assert df["product"].null_count() == 0 and df["category"].null_count() == 0


def test_the_original_takes_sales_price_as_money_and_amount_as_quantity():
    result = read_table(REAL / "ta_feng_original.csv")
    mapping = result.report.mapping
    assert mapping["SALES_PRICE"] == "amount" and mapping["AMOUNT"] == "quantity"
    assert mapping["TRANSACTION_DT"] == "order_date" and mapping["CUSTOMER_ID"] == "customer_id"
    assert mapping["PRODUCT_ID"] == "product" and mapping["PIN_CODE"] == "region"
    note = issue(result, "money_column_chosen")
    assert note.column == "SALES_PRICE" and note.params["other"] == "AMOUNT" and note.params["median"] == "1"
    assert result.report.date_order == "month-first"  # 11/13/2000 can only be month first
    # the cost column is kept as an extra column, not taken as money
    assert "ASSET" in result.df.columns


def test_big5_is_told_apart_from_gb18030_by_the_words_it_yields():
    result = read_table(REAL / "ta_feng_big5.csv")
    assert result.report.encoding == "cp950" and result.report.delimiter == ";"
    assert result.report.headers == ("日期", "會員卡號", "年齡", "區域", "商品分類", "商品編碼", "數量", "成本", "銷售")
    assert result.report.mapping["銷售"] == "amount" and result.report.mapping["區域"] == "region"
    assert issue(result, "encoding_traditional") is not None
    gb = read_table(REAL / "ta_feng_gb18030.csv")
    assert gb.report.encoding == "gb18030" and issue(gb, "encoding_traditional") is None


def test_short_big5_and_gb18030_files_decode_to_their_own_script():
    traditional = "客戶編號,日期,銷售,商品名稱\nA1,2024-01-05,30,鮮奶\nA2,2024-01-06,12,麵包\n"
    simplified = "客户编号,日期,销售额,商品名称\nA1,2024-01-05,30,鲜奶\nA2,2024-01-06,12,面包\n"
    big5 = read_table(traditional.encode("cp950"))
    assert big5.report.encoding == "cp950" and big5.df["product"].to_list() == ["鮮奶", "麵包"]
    gb = read_table(simplified.encode("gb18030"))
    assert gb.report.encoding == "gb18030" and gb.df["product"].to_list() == ["鲜奶", "面包"]


def test_the_gb18030_export_reads_yuan_amounts_and_its_currency():
    result = read_table(REAL / "ta_feng_gb18030.csv")
    assert result.report.currency == "CNY"  # ¥1,234.00 cells
    assert result.report.mapping["商品编码"] == "product" and result.report.mapping["实付金额(元)"] == "amount"
    assert read_table(REAL / "ta_feng_original.csv").report.currency is None  # no sign anywhere


def test_the_excel_copy_loads_like_the_csv():
    result = read_table(REAL / "ta_feng.xlsx")
    original = read_table(REAL / "ta_feng_original.csv").df.head(2000)
    assert result.report.sheet == "销售明细"
    assert result.df.select("customer_id", "order_date", "amount", "quantity").equals(
        original.select("customer_id", "order_date", "amount", "quantity"))


def test_customers_table_maps_residence_area_to_region():
    result = read_table(REAL / "ta_feng_customers.csv", kind="customers")
    assert result.report.mapping == {"客户编号": "customer_id", "居住区域": "region"}
    assert result.df.height == 162 and result.df["customer_id"].str.starts_with("0").all()


def test_cdnow_master_whitespace_headerless_is_read_and_its_columns_guessed():
    lines = (REAL / "cdnow_master_head.txt").read_text().split()
    ids, days, cds, dollars = lines[0::4], lines[1::4], lines[2::4], lines[3::4]
    assert sniff_headers(REAL / "cdnow_master_head.txt") == ["column_1", "column_2", "column_3", "column_4"]
    result = read_table(REAL / "cdnow_master_head.txt")
    assert result.report.mapping == {"column_1": "customer_id", "column_2": "order_date", "column_3": "quantity",
                                     "column_4": "amount"}
    assert not result.report.has_header and issue(result, "no_header") and issue(result, "whitespace_delimited")
    assert result.df.height == len(ids) == 1046 and result.df["customer_id"].n_unique() == len(set(ids)) == 300
    assert result.df["amount"].sum() == pytest.approx(sum(float(d) for d in dollars))
    assert result.df["quantity"].sum() == sum(int(c) for c in cds)
    assert result.df["order_date"].min().strftime("%Y%m%d") == min(days)
    # the first line is data, not a header: it is counted as row 1
    assert result.df["customer_id"][0] == "00001"


def test_whitespace_file_with_a_header_maps_the_lifetimes_names():
    data = (b" customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n"
            b" 00002 19970112  5   77.00\r\n")
    result = read_table(data)
    assert result.report.has_header
    assert result.report.mapping == {"customer_id": "customer_id", "date": "order_date", "number_of_cds": "quantity",
                                     "dollar_value": "amount"}
    assert result.df["amount"].to_list() == [11.77, 77.0]


def test_headerless_baskets_load_without_amounts():
    rows = list(csv.reader((REAL / "baskets_headerless.csv").read_text().splitlines()))
    result = read_table(REAL / "baskets_headerless.csv")
    assert result.report.mapping == {"column_1": "customer_id", "column_2": "order_date", "column_3": "product"}
    assert result.df.height == len(rows) == 4394 and result.df["amount"].null_count() == result.df.height
    assert issue(result, "no_amounts").count == 4394
    assert result.report.date_order == "day-first"  # 13-11-2000 exists
    assert set(result.df["product"]) == {r[2] for r in rows}


def test_a_user_mapping_overrides_the_guess_for_a_headerless_file():
    result = read_table(REAL / "cdnow_master_head.txt",
                        mapping={"column_1": "customer_id", "column_2": "order_date", "column_3": "",
                                 "column_4": "amount"})
    assert "quantity" not in result.df.columns and result.df["amount"].sum() > 0
    assert "column_3" in result.df.columns


def test_currency_signs_name_the_currency_and_taiwanese_yuan_is_the_nt_dollar():
    simplified = read_table("客户编号,下单时间,实付金额(元)\nA1,2024-01-05,88\n".encode("gb18030"))
    assert simplified.report.currency == "CNY"
    taiwanese = read_table("會員卡號,日期,金額(元)\nA1,2024-01-05,88\n".encode("cp950"))
    assert taiwanese.report.currency == "TWD"
    dollars = read_table("會員卡號,日期,銷售\nA1,2024-01-05,\"$1,200\"\n".encode("cp950"))
    assert dollars.report.currency == "TWD" and dollars.df["amount"][0] == 1200
    assert read_table(b"customer_id,order_date,amount\nA1,2024-01-05,\"US$5\"\n").report.currency == "USD"
    assert read_table("customer_id,order_date,amount\nA1,2024-01-05,€5\n".encode()).report.currency == "EUR"
    assert read_table(b"customer_id,order_date,amount\nA1,2024-01-05,NT$ 88\n").report.currency == "TWD"
