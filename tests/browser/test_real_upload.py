"""A real export in a real browser: the Big5 Ta-Feng receipts (Traditional Chinese headers) uploaded on
the Chinese Data page load with the right mapping and the right customer count."""
from pathlib import Path

from tests.browser.conftest import assert_no_errors, settle, shot
from tests.browser.test_share_flow import kpis

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def test_a_big5_export_loads_in_chinese_with_its_mapping(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server + "/data?lang=zh")
    settle(page)
    dropzone = page.locator('[data-testid="stFileUploaderDropzone"]').first
    # the uploader's own words are in the page's language, not Streamlit's built-in English
    button_text = dropzone.locator("button p").evaluate("e => getComputedStyle(e, '::after').content")
    assert "上传" in button_text
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(REAL / "ta_feng_big5.csv"))
    settle(page)
    assert_no_errors(page)
    mapping = page.locator('[data-testid="stExpander"]').filter(has_text="列映射").first
    mapping.locator("summary").click()
    settle(page)
    # 銷售 (sales) is the money and 會員卡號 the customer, named in the page's language
    assert mapping.get_by_role("combobox", name="銷售").input_value().startswith("金额")
    assert mapping.get_by_role("combobox", name="會員卡號").input_value().startswith("客户编号")
    shot(page, "real-big5-data-zh")
    page.get_by_role("button", name="使用这份数据").click()
    settle(page)
    page.get_by_role("link", name="总览").click()
    settle(page)
    assert_no_errors(page)
    assert kpis(page)["客户数"] == "162"
    shot(page, "real-big5-overview-zh")
