"""The critical path in a real browser: upload → use → save → share link in a fresh context."""

from tests.browser.conftest import assert_no_errors, settle, shot

UPLOAD = (
    "客户编号,下单时间,金额,地区,渠道\n"
    "K001,2024/1/5,\"￥1,200.00\",华东,门店\n"
    "K001,2024/3/9,300,华东,线上\n"
    "K002,2024/1/20,500,华南,线上\n"
    "K003,2024/3/15,800,华南,门店\n"
    "K004,2024/3/16,450,华北,线上\n"
).encode("gbk")


def kpis(page) -> dict[str, str]:
    values = {}
    for card in page.locator('[data-testid="stMetric"]').all():
        label = card.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        values[label] = card.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return values


def test_upload_save_and_open_the_share_link(server, browser, tmp_path):
    source = tmp_path / "订单导出.csv"
    source.write_bytes(UPLOAD)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server + "/data?lang=en")
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(source))
    settle(page)
    assert_no_errors(page)
    page.get_by_role("button", name="Use this data").click()
    settle(page)
    assert page.get_by_text("Now analysing: 订单导出.csv").is_visible()
    page.get_by_role("button", name="Save and share").click()
    settle(page)
    assert_no_errors(page)
    assert "ds=" in page.url

    page.get_by_role("link", name="Overview").click()
    settle(page)
    ours = kpis(page)
    assert ours["Customers"] == "4"
    link = page.url
    assert "ds=" in link and "lang=en" in link

    colleague = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    colleague.goto(link)
    settle(colleague)
    assert_no_errors(colleague)
    assert kpis(colleague) == ours
    shot(colleague, "share-overview-en")

    colleague.goto(link.replace("lang=en", "lang=zh"))
    settle(colleague)
    assert_no_errors(colleague)
    assert kpis(colleague)["客户数"] == "4"
    shot(colleague, "share-overview-zh")
