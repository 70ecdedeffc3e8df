"""Downloads never run formulas, keep numbers numeric, and mask contacts."""
import io

import polars as pl
import pytest
from openpyxl import load_workbook

from crm_core.export import TRIGGERS, mask_contacts, mask_email, mask_phone, neutralise, to_csv_bytes, to_excel_bytes


def hostile():
    return pl.DataFrame({
        "name": ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-cmd", "@SUM(A1)", "\tx", "\rx", "normal", None],
        "amount": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
    })


def test_every_trigger_is_prefixed_and_numbers_untouched():
    safe = neutralise(hostile())
    for text in safe["name"].drop_nulls():
        assert not text.startswith(TRIGGERS)
    assert safe["name"][0] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert safe["name"][6] == "normal" and safe["name"][7] is None
    assert safe["amount"].to_list() == hostile()["amount"].to_list()


def test_csv_has_bom_and_is_safe():
    data = to_csv_bytes(hostile().rename({"name": "=header"}))
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "'=header,amount"
    assert ",-5.0" in text.splitlines()[1]


def test_excel_has_no_formulas():
    workbook = load_workbook(io.BytesIO(to_excel_bytes(hostile())))
    sheet = workbook.active
    values = [row for row in sheet.iter_rows(values_only=True)]
    assert values[1][0] == "=HYPERLINK(\"http://x\",\"y\")"  # the text as written, no apostrophe
    assert values[1][1] == -5.0
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_excel_stores_formula_like_text_as_text_cells_without_the_apostrophe():
    frame = pl.DataFrame({"=header": ["=3+3", "+1", "-cmd", "@SUM(A1)", "normal", None], "amount": [-5, 1, 2, 3, 4, 5]})
    sheet = load_workbook(io.BytesIO(to_excel_bytes(frame))).active
    header, formula, plus, minus, at, normal, empty = (row[0] for row in sheet.iter_rows())
    assert formula.value == "=3+3" and formula.data_type == "s"  # a string cell: Excel shows it, never runs it
    assert [c.value for c in (plus, minus, at)] == ["+1", "-cmd", "@SUM(A1)"]
    assert all(c.data_type == "s" and c.quotePrefix for c in (header, formula, plus, minus, at))  # stays text if edited
    assert header.value == "=header" and normal.value == "normal" and not normal.quotePrefix and empty.value is None
    assert [row[1].value for row in sheet.iter_rows(min_row=2)] == [-5, 1, 2, 3, 4, 5]
    # CSV has no cell types: there the apostrophe stays (OWASP)
    assert to_csv_bytes(frame).decode("utf-8-sig").splitlines()[1] == "'=3+3,-5"


@pytest.mark.parametrize("raw, masked", [("13812345678", "138****5678"), ("+86 138-1234-5678", "138****5678"),
                                         ("021-5555123", "****5123"), ("", ""), (None, None)])
def test_phone_mask(raw, masked):
    assert mask_phone(raw) == masked
    assert mask_contacts(pl.DataFrame({"phone": [raw]}, schema={"phone": pl.String}))["phone"][0] == masked


def test_email_mask():
    assert mask_email("zhang.wei@example.com") == "z****@example.com"
    assert mask_contacts(pl.DataFrame({"email": ["li@a.cn", "no-at"]}))["email"].to_list() == ["l****@a.cn", "no-at"]


def test_excel_takes_infinite_and_missing_numbers():
    frame = pl.DataFrame({"conviction": [float("inf"), float("nan"), 1.5, None]})
    sheet = load_workbook(io.BytesIO(to_excel_bytes(frame))).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [None, None, 1.5, None]
