"""Header matching: spellings, case, width, punctuation and units in brackets."""
from crm_core.schema import detect_mapping, normalize_header


def test_normalisation_folds_case_width_punctuation_and_units():
    assert (normalize_header(" Customer_ID ") == normalize_header("customer id")
            == normalize_header("ＣＵＳＴＯＭＥＲ－ＩＤ"))
    assert normalize_header("金额(元)") == normalize_header("金额（元）") == normalize_header("金额")
    assert normalize_header("Amount (CNY)") == "amount"


def test_chinese_and_english_exports_map_to_canonical_names():
    chinese = detect_mapping(["客户编号", "下单时间", "实付金额", "订单号", "商品名称", "数量(件)", "备注"],
                             "transactions")
    assert chinese == {"客户编号": "customer_id", "下单时间": "order_date", "实付金额": "amount", "订单号": "order_id",
                       "商品名称": "product", "数量(件)": "quantity"}
    english = detect_mapping(["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                              "CustomerID"], "transactions")
    assert english["CustomerID"] == "customer_id" and english["InvoiceDate"] == "order_date"
    assert english["UnitPrice"] == "unit_price" and english["InvoiceNo"] == "order_id"
    assert detect_mapping(["会员号", "跟进时间", "跟进方式", "满意度"], "interactions") == {
        "会员号": "customer_id", "跟进时间": "date", "跟进方式": "type", "满意度": "satisfaction"}


def test_each_canonical_name_is_given_once():
    assert detect_mapping(["金额", "订单金额"], "transactions") == {"金额": "amount"}
