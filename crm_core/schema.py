"""Canonical tables: column names, dtypes and the header spellings that map to them.

Every loader result, the sample and every analysis speak these names (DESIGN.md, "Canonical tables").
Headers arrive in many spellings, English and Chinese; :func:`normalize_header` folds case, width,
spaces and punctuation so that ``Customer ID``, ``customer_id``, ``CUSTOMERID`` and ``客户ID`` all meet
the same key in :data:`SYNONYMS`.
"""
from __future__ import annotations

import re
import unicodedata

import polars as pl

KINDS = ("transactions", "customers", "interactions")

# canonical column -> polars dtype, per table. The first columns of each table are required.
COLUMNS: dict[str, dict[str, pl.DataType]] = {
    "transactions": {
        "customer_id": pl.String(),
        "order_date": pl.Datetime("us"),
        "amount": pl.Float64(),
        "order_id": pl.String(),
        "product": pl.String(),
        "category": pl.String(),
        "quantity": pl.Float64(),
        "unit_price": pl.Float64(),
        "channel": pl.String(),
        "region": pl.String(),
        "sales_rep": pl.String(),
    },
    "customers": {
        "customer_id": pl.String(),
        "name": pl.String(),
        "signup_date": pl.Datetime("us"),
        "region": pl.String(),
        "city": pl.String(),
        "channel": pl.String(),
        "industry": pl.String(),
        "gender": pl.String(),
        "birthday": pl.Datetime("us"),
        "phone": pl.String(),
        "email": pl.String(),
        "owner": pl.String(),
    },
    "interactions": {
        "customer_id": pl.String(),
        "date": pl.Datetime("us"),
        "type": pl.String(),
        "channel": pl.String(),
        "outcome": pl.String(),
        "satisfaction": pl.Float64(),
        "note": pl.String(),
    },
}

# Columns a table cannot do without. Transactions without any amount (grocery baskets: customer, date,
# item) still load: ``amount`` is then derived from quantity × unit_price, or left empty and the monetary
# views say they need it (DESIGN.md, "Canonical tables").
REQUIRED: dict[str, tuple[str, ...]] = {
    "transactions": ("customer_id", "order_date"),
    "customers": ("customer_id",),
    "interactions": ("customer_id", "date", "type"),
}

DATE_COLUMNS = frozenset({"order_date", "signup_date", "birthday", "date"})
NUMBER_COLUMNS = frozenset({"amount", "quantity", "unit_price", "satisfaction"})
ID_COLUMNS = frozenset({"customer_id", "order_id"})

# Header spellings per canonical name (before normalisation; normalize_header is applied to both sides).
# Shared names (region, channel, customer_id) serve every table; table-specific ones sit under the table.
_COMMON: dict[str, list[str]] = {
    "customer_id": [
        "customer_id", "customer id", "customerid", "customer no", "customer number", "customer code",
        "cust_id", "client_id", "client id", "member_number", "member id", "member_id", "account id",
        "客户编号", "客户ID", "客户id", "客户代码", "客户号", "会员号", "会员编号", "会员ID", "用户ID",
        "用户编号", "买家ID", "客户编码", "顾客编号", "顾客ID", "会员卡号", "买家会员名", "cust no", "customer", "客户",
        # Traditional Chinese (Taiwan/Hong Kong POS and CRM exports)
        "會員卡號", "會員編號", "會員號", "會員ID", "客戶編號", "客戶代號", "客戶ID", "客戶", "顧客編號", "顧客ID",
        # usual English export names
        "customer_no", "customerno", "cust_no", "custno", "member", "membernumber", "member no", "card no",
        "loyalty card", "shopper id", "buyer id", "user_id", "user id", "contact id", "account number",
    ],
    "region": ["region", "area", "province", "state", "territory", "country", "country name", "market", "pin_code",
               "地区", "区域", "大区", "省份", "省", "所属区域", "国家", "国家/地区", "居住区域", "居住地区",
               "區域", "地區", "國家", "居住區域", "省份/地區"],
    "channel": ["channel", "source", "sales channel", "acquisition channel", "渠道", "销售渠道", "来源渠道", "来源",
                "获客渠道", "通路", "銷售通路", "管道", "銷售渠道"],
}

_BY_KIND: dict[str, dict[str, list[str]]] = {
    "transactions": {
        "order_date": [
            "order_date", "order date", "date", "invoicedate", "invoice date", "transaction date", "purchase date",
            "order time", "created", "下单时间", "订单日期", "交易日期", "下单日期", "购买日期", "购买时间",
            "成交日期", "日期", "交易时间", "订单时间", "付款时间", "支付时间", "创建时间", "成交时间", "订单创建时间",
            "transaction_dt", "transaction_date", "trans_date", "txn_date", "sale date", "sales date", "invoice_date",
            "order_datetime", "purchase_datetime", "datetime", "timestamp", "day",
            "交易日期", "銷售日期", "訂單日期", "下單時間", "下單日期", "購買日期", "交易時間", "消費日期", "消费日期",
        ],
        "amount": [
            "amount", "totalprice", "total price", "total", "sales", "revenue", "order amount", "order value",
            "net amount", "value", "金额", "实付金额", "订单金额", "交易金额", "销售额", "成交金额", "支付金额",
            "实收金额", "应付金额", "总金额", "合计金额", "付款金额", "实付款", "订单总额", "销售金额", "sales amount",
            "net sales",
            "sales_price", "sale price", "sales value", "dollar_value", "dollar value", "dollars", "line total",
            "line amount", "extended price", "net value", "gross sales", "spend", "turnover", "subtotal",
            "銷售", "銷售額", "銷售金額", "金額", "實付金額", "訂單金額", "交易金額", "消費金額", "消费金额", "小計",
            "小计",
        ],
        "order_id": [
            "order_id", "order id", "order no", "order number", "invoiceno", "invoice no", "invoice",
            "transaction id", "订单编号", "订单号", "单号", "订单ID", "交易编号", "交易单号", "流水号", "单据编号",
            "销售单号",
            "invoice_no", "invoice number", "receipt", "receipt no", "receipt id", "basket id", "ticket", "bill no",
            "transaction_id", "txn id", "order_no", "ordernumber",
            "訂單編號", "訂單號", "單號", "交易編號", "發票號碼", "收據編號", "小票号", "小票號", "发票号",
        ],
        "product": [
            "product", "product name", "item", "item name", "description", "itemdescription",
            "商品名称", "产品", "产品名称", "商品", "品名", "货品名称", "商品名",
            "itemdescription", "item description", "product description", "product_name", "article", "goods",
            "商品名稱", "產品", "產品名稱", "品項",
        ],
        "category": [
            "category", "product category", "product type", "department", "商品类别", "类别", "品类", "产品类别",
            "商品分类", "分类", "产品类型", "类目",
            "product_subclass", "subclass", "sub category", "subcategory", "product group", "class",
            "商品分類", "分類", "類別", "產品類別", "品類", "類目",
        ],
        "quantity": ["quantity", "qty", "units", "count", "数量", "购买数量", "销售数量", "件数",
                     "number_of_cds", "number of items", "items", "pieces", "數量", "購買數量", "銷售數量", "件數"],
        "unit_price": ["unit_price", "unit price", "price", "unitprice", "单价", "销售单价", "价格", "成交单价",
                       "單價", "價格", "銷售單價"],
        "sales_rep": ["sales_rep", "sales rep", "salesperson", "seller", "销售员", "销售人员", "业务员", "销售代表",
                      "業務員", "銷售員", "銷售人員"],
    },
    "customers": {
        "name": ["name", "customer name", "company", "company name", "account name", "客户名称", "客户姓名", "姓名",
                 "名称", "公司名称", "企业名称"],
        "signup_date": [
            "signup_date", "signup date", "created date", "registration date", "join date", "first seen",
            "注册时间", "注册日期", "开户日期", "创建日期", "建档日期", "入会日期", "customer since", "成为客户时间",
        ],
        "city": ["city", "城市", "所在城市"],
        "industry": ["industry", "sector", "行业", "所属行业"],
        "gender": ["gender", "sex", "性别"],
        "birthday": ["birthday", "date of birth", "dob", "birth date", "生日", "出生日期"],
        "phone": ["phone", "mobile", "telephone", "phone number", "tel", "电话", "手机", "手机号", "联系电话",
                  "手机号码"],
        "email": ["email", "e-mail", "mail", "邮箱", "电子邮箱", "电子邮件"],
        "owner": ["owner", "account owner", "account manager", "负责人", "客户经理", "所属销售", "跟进人", "归属人"],
    },
    "interactions": {
        "date": ["date", "interaction date", "contact date", "activity date", "time", "日期", "时间", "联系时间",
                 "跟进时间", "互动时间", "活动日期", "沟通时间", "拜访时间"],
        "type": ["type", "interaction type", "activity type", "contact type", "类型", "互动类型", "跟进方式",
                 "联系方式", "活动类型", "跟进类型", "沟通方式"],
        "outcome": ["outcome", "result", "status", "结果", "跟进结果", "状态"],
        "satisfaction": ["satisfaction", "csat", "rating", "score", "满意度", "评分", "满意度评分"],
        "note": ["note", "notes", "comment", "remark", "content", "备注", "内容", "跟进内容", "说明"],
    },
}

# Spellings of a product *code*. A code is the product only when the file has no product name: with both,
# the name is the product (what a manager reads) and the code stays in the table as an extra column.
PRODUCT_CODE_SPELLINGS = [
    "product_id", "product id", "productid", "product code", "product no", "sku", "stockcode", "stock code",
    "item code", "item_id", "item id", "article no", "barcode", "ean", "upc", "plu",
    "商品编码", "商品编号", "商品代码", "产品编码", "产品编号", "产品代码", "货号", "条码", "条形码", "物料编码",
    "商品条码",
    "商品編碼", "商品編號", "商品代碼", "產品編碼", "產品編號", "貨號", "條碼", "條形碼",
]

_PUNCT = re.compile(r"[\s_\-./\\:：()（）\[\]【】#·、,，'\"]+")
# A unit in brackets at the end of a header: 金额(元), 订单金额（元）, Amount (CNY), 数量[件].
_UNIT_SUFFIX = re.compile(r"\s*[(\[]\s*(?:元|万元|件|个|rmb|cny|usd|eur|¥|\$|€|£|pcs|units?)\s*[)\]]\s*$")


def normalize_header(header: str) -> str:
    """Fold a header to a matching key: NFKC (full-width → ASCII), case, a trailing unit in brackets,
    spaces and punctuation removed."""
    folded = unicodedata.normalize("NFKC", str(header)).strip().lower()
    return _PUNCT.sub("", _UNIT_SUFFIX.sub("", folded))


def synonyms(kind: str) -> dict[str, str]:
    """``{normalised spelling: canonical name}`` for one table kind; earlier entries win on a clash."""
    table: dict[str, str] = {}
    spellings = {**{k: v for k, v in _COMMON.items()}, **_BY_KIND[kind]}
    # The table's own columns first, so e.g. interactions' "date" beats nothing else.
    for canonical in COLUMNS[kind]:
        for spelling in spellings.get(canonical, [canonical]) + [canonical]:
            table.setdefault(normalize_header(spelling), canonical)
    return table


SYNONYMS: dict[str, dict[str, str]] = {kind: synonyms(kind) for kind in KINDS}


def detect_mapping(headers: list[str], kind: str) -> dict[str, str]:
    """Guess ``{source header: canonical name}`` for the headers of one table.

    Each canonical name is given to the first header that matches it; headers that match nothing are
    left out (they stay in the table as extra attributes).
    """
    table = SYNONYMS[kind]
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        canonical = table.get(normalize_header(header))
        if canonical and canonical not in taken:
            mapping[header] = canonical
            taken.add(canonical)
    if kind == "transactions" and "product" not in taken:
        code = next((h for h in headers if h not in mapping and is_product_code(h)), None)
        if code is not None:
            mapping[code] = "product"
    return {h: mapping[h] for h in headers if h in mapping}


def is_product_code(header: str) -> bool:
    """Whether a header names a product code (SKU, 商品编码 …) rather than a product name."""
    return normalize_header(header) in _PRODUCT_CODES


_PRODUCT_CODES = frozenset(normalize_header(spelling) for spelling in PRODUCT_CODE_SPELLINGS)
