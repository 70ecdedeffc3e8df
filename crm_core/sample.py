"""The sample-data generator: a deterministic, realistic CRM for a Chinese office-supplies distributor.

Every analysis page is demoed on what this module makes, so the data carries the structure each one
looks for, produced by a stated process rather than painted on:

- **Purchases** follow the BG/NBD story (Fader, Hardie & Lee 2005, "Counting your customers the easy
  way"): while alive, a customer buys as a Poisson process with a gamma-distributed rate λ ~ Γ(r, α);
  after every repeat purchase they drop out with a beta-distributed probability p ~ B(a, b). A share of
  customers also drops out after the first order (as in the MBG/NBD of Batislam et al. 2007). The rate is
  modulated by a calendar (weekdays, the Spring Festival dip on the real 春节 dates, 618 and 双11 peaks,
  the National Day and Labour Day holidays), so the process is a non-homogeneous Poisson process.
- **Spend** follows Gamma–Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"): ν ~ Γ(q, 1) per customer,
  whose mean order value is then scale·(q−1)/ν (mean = scale); each order's value is Γ(p) around it.
  Enterprises have a larger scale than individuals. Together with the rate heterogeneity this gives a Pareto-shaped
  revenue curve (the top 20 % of customers carry about two thirds of revenue).
- **Baskets** mix a customer's category preferences (a Dirichlet draw around their industry's profile)
  with bundles bought together far more often than chance (printer + toner + paper, laptop + mouse +
  dock, desk + chair, …), so association rules with lift ≫ 1 exist. Gift boxes follow their festivals.
- **Customers** are acquired throughout the period (growing, with promotion and trade-show bursts), so
  monthly cohorts exist; a fifth were already customers before the period starts; some never order
  (prospects); a few drop out and come back after a long dormancy, after a win-back campaign.
- **Orders** have lines with integer quantities at list price less the customer's discount and online
  promotion discounts (amount = quantity × unit_price); about 2 % get a refund line (negative quantity
  and amount, same order_id and product) days later, more often the last order before a dropout.
- **Interactions** (calls, visits, emails, meetings, campaigns, complaints, feedback) follow each
  customer's state: in the months around a customer's last order before dropping out, complaints become
  far more likely, satisfaction falls and contact thins out — the signal a churn model should find.

Randomness comes from one ``numpy.random.Generator(seed)``; the same arguments give identical frames
and byte-identical CSV files. Generation is vectorised (no per-line or per-customer Python loops), so a
million-line set (about 88,000 customers) takes seconds. This module writes files only through
:func:`write_csv`, called by the command ``python -m crm_core.sample --customers N --seed S --out DIR``.

Campaigns with a known effect (issue 17: the result page must recover it)
-------------------------------------------------------------------------
- :func:`cut` is the data as the CRM would export it on a day: lines and interactions strictly before
  it, customers signed up before it. ``--until DATE`` writes that.
- :func:`simulate_campaign` adds a campaign's effect to the later data: each contacted (treated) customer
  who would not have ordered in the window comes back with probability ``uplift``, with a copy of one of
  their own past orders (or, for cross-sell, an order of the product); everyone else, the held-out
  control included, is untouched, and ``uplift=0`` is the null campaign. It returns the truth
  (:class:`CampaignTruth`): treated, brought back, realised effect = brought back / treated.

The flow it simulates, from the shell: write the data as of the start, upload it, make a campaign from
the churn call list and download its contact list; then write the later data with the campaign's effect,
upload it and open the result page::

    python -m crm_core.sample --until 2025-09-01 --out before
    python -m crm_core.sample --campaign-contacts contacts.csv --campaign-start 2025-09-01 --out after

with ``[--campaign-window 90] [--campaign-product P] [--campaign-seed N] [--campaign-calls]`` (``--help``).
The contact list is read by :func:`crm_core.io.read_table` (CSV with a BOM or Excel, headers such as
客户编号 or Customer ID); use the same ``--customers/--seed/--start/--end`` both times.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import cast

import numpy as np
import polars as pl

from crm_core.dataset import SAMPLE_FILES, Dataset
from crm_core.features import before, has_amounts, purchases, with_order_key
from crm_core.schema import COLUMNS

# ---------------------------------------------------------------------------------------------------
# Reference tables
# ---------------------------------------------------------------------------------------------------

# 春节 (Chinese New Year's Day, 正月初一) by Gregorian year.
SPRING_FESTIVAL: dict[int, date] = {
    2015: date(2015, 2, 19), 2016: date(2016, 2, 8), 2017: date(2017, 1, 28), 2018: date(2018, 2, 16),
    2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12), 2022: date(2022, 2, 1),
    2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
    2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
}

# region -> (city, pinyin, weight within the region)
REGIONS: dict[str, list[tuple[str, str, float]]] = {
    "华东": [("上海", "shanghai", 10), ("杭州", "hangzhou", 6), ("南京", "nanjing", 5), ("苏州", "suzhou", 5),
            ("宁波", "ningbo", 3), ("合肥", "hefei", 3), ("济南", "jinan", 3), ("青岛", "qingdao", 3),
            ("福州", "fuzhou", 2), ("厦门", "xiamen", 2), ("无锡", "wuxi", 2), ("南昌", "nanchang", 2),
            ("温州", "wenzhou", 1.5)],
    "华南": [("深圳", "shenzhen", 9), ("广州", "guangzhou", 9), ("东莞", "dongguan", 4), ("佛山", "foshan", 4),
            ("南宁", "nanning", 2), ("珠海", "zhuhai", 1.5), ("中山", "zhongshan", 1.5), ("海口", "haikou", 1)],
    "华北": [("北京", "beijing", 12), ("天津", "tianjin", 5), ("石家庄", "shijiazhuang", 3),
            ("太原", "taiyuan", 2), ("唐山", "tangshan", 1.5), ("保定", "baoding", 1.5),
            ("呼和浩特", "huhehaote", 1)],
    "华中": [("武汉", "wuhan", 8), ("长沙", "changsha", 6), ("郑州", "zhengzhou", 6), ("洛阳", "luoyang", 1.5),
            ("宜昌", "yichang", 1), ("株洲", "zhuzhou", 1)],
    "西南": [("成都", "chengdu", 9), ("重庆", "chongqing", 8), ("昆明", "kunming", 3), ("贵阳", "guiyang", 2),
            ("绵阳", "mianyang", 1)],
    "西北": [("西安", "xian", 6), ("兰州", "lanzhou", 2), ("乌鲁木齐", "wulumuqi", 2), ("银川", "yinchuan", 1),
            ("西宁", "xining", 1)],
    "东北": [("沈阳", "shenyang", 4), ("大连", "dalian", 3), ("哈尔滨", "haerbin", 3), ("长春", "changchun", 3)],
}
REGION_WEIGHTS = {"华东": 0.30, "华南": 0.22, "华北": 0.16, "华中": 0.11, "西南": 0.10, "西北": 0.05, "东北": 0.06}

# Sales reps own the customers of one region.
SALES_REPS: dict[str, list[str]] = {
    "华东": ["张伟", "李娜", "王磊", "陈静", "刘洋"],
    "华南": ["黄志强", "林晓燕", "吴俊杰", "郑丽"],
    "华北": ["赵刚", "孙敏", "周浩"],
    "华中": ["胡斌", "何婷"],
    "西南": ["杨帆", "罗雪"],
    "西北": ["马超"],
    "东北": ["高峰"],
}

ACQUISITION_CHANNELS = ("线上商城", "小程序", "门店", "直销", "代理商", "展会")
ORDER_CHANNELS = ("线上商城", "小程序", "门店", "直销", "代理商")
ONLINE_CHANNELS = frozenset({"线上商城", "小程序"})
# acquisition channel weights for enterprises and for individuals
CHANNEL_WEIGHTS = {
    "enterprise": (0.18, 0.07, 0.13, 0.28, 0.20, 0.14),
    "individual": (0.42, 0.30, 0.23, 0.00, 0.00, 0.05),
}
# the order channel a customer mostly uses, by acquisition channel (展会 leads are served by reps)
PREFERRED_ORDER_CHANNEL = {"线上商城": "线上商城", "小程序": "小程序", "门店": "门店", "直销": "直销",
                           "代理商": "代理商", "展会": "直销"}
ORDER_CHANNEL_WEIGHTS = (0.35, 0.20, 0.15, 0.20, 0.10)

CATEGORIES = ("办公文具", "办公设备", "打印耗材", "电脑数码", "办公家具", "清洁日化", "茶水食品", "劳保用品",
              "节日礼品")

# (product, category, list price ¥, popularity, max quantity per line, {month: weight} or None = all year)
PRODUCTS: list[tuple[str, str, float, float, int, dict[int, float] | None]] = [
    ("A4复印纸70g（5包/箱）", "办公文具", 135.00, 10, 200, None),
    ("中性笔0.5mm（12支装）", "办公文具", 18.00, 8, 300, None),
    ("便利贴（10本装）", "办公文具", 15.00, 5, 200, None),
    ("A5笔记本（5本装）", "办公文具", 35.00, 6, 200, None),
    ("文件夹（10个装）", "办公文具", 25.00, 5, 200, None),
    ("档案盒（10个装）", "办公文具", 48.00, 4, 200, None),
    ("订书机", "办公文具", 28.00, 3, 50, None),
    ("白板笔（10支装）", "办公文具", 22.00, 3, 100, None),
    ("黑白激光打印机", "办公设备", 1699.00, 4, 20, None),
    ("彩色多功能一体机", "办公设备", 2899.00, 3, 10, None),
    ("碎纸机", "办公设备", 699.00, 2, 10, None),
    ("商务投影仪", "办公设备", 3599.00, 2, 10, None),
    ("指纹考勤机", "办公设备", 399.00, 2, 10, None),
    ("电动装订机", "办公设备", 459.00, 1, 5, None),
    ("激光打印机硒鼓", "打印耗材", 329.00, 7, 100, None),
    ("彩色墨盒", "打印耗材", 159.00, 4, 100, None),
    ("碳粉（1kg）", "打印耗材", 89.00, 3, 100, None),
    ("热敏打印纸（50卷）", "打印耗材", 119.00, 4, 200, None),
    ("针式打印机色带", "打印耗材", 39.00, 2, 100, None),
    ("轻薄笔记本电脑", "电脑数码", 5499.00, 3, 50, None),
    ("商用台式电脑", "电脑数码", 4299.00, 3, 50, None),
    ("27英寸显示器", "电脑数码", 1299.00, 4, 50, None),
    ("无线键鼠套装", "电脑数码", 149.00, 5, 100, None),
    ("1TB移动硬盘", "电脑数码", 399.00, 3, 50, None),
    ("64G U盘", "电脑数码", 49.00, 4, 200, None),
    ("千兆无线路由器", "电脑数码", 299.00, 2, 20, None),
    ("Type-C扩展坞", "电脑数码", 259.00, 3, 50, None),
    ("人体工学办公椅", "办公家具", 1199.00, 4, 100, None),
    ("1.4米办公桌", "办公家具", 899.00, 3, 100, None),
    ("2.4米会议桌", "办公家具", 3299.00, 1, 5, None),
    ("铁皮文件柜", "办公家具", 699.00, 2, 30, None),
    ("四人位屏风工位", "办公家具", 4599.00, 1, 20, None),
    ("午休折叠床", "办公家具", 299.00, 2, 50, None),
    ("抽纸（24包/箱）", "清洁日化", 69.00, 8, 200, None),
    ("卷纸（27卷/提）", "清洁日化", 59.00, 6, 200, None),
    ("洗手液（500ml×4瓶）", "清洁日化", 45.00, 5, 100, None),
    ("垃圾袋（10卷装）", "清洁日化", 25.00, 5, 200, None),
    ("消毒湿巾（3包装）", "清洁日化", 29.00, 4, 200, None),
    ("拖把清洁套装", "清洁日化", 89.00, 2, 30, None),
    ("瓶装饮用水（550ml×24瓶）", "茶水食品", 32.00, 7, 300, None),
    ("速溶咖啡（100条装）", "茶水食品", 109.00, 5, 100, None),
    ("一次性纸杯（500只）", "茶水食品", 39.00, 5, 100, None),
    ("绿茶茶叶礼盒", "茶水食品", 268.00, 2, 50, None),
    ("办公室零食大礼包", "茶水食品", 128.00, 3, 100, None),
    ("挂耳咖啡（50包）", "茶水食品", 139.00, 2, 100, None),
    ("劳保手套（12双）", "劳保用品", 36.00, 5, 500, None),
    ("医用口罩（50只）", "劳保用品", 29.00, 5, 500, None),
    ("安全帽", "劳保用品", 45.00, 3, 300, None),
    ("反光背心", "劳保用品", 25.00, 3, 300, None),
    ("防护眼镜", "劳保用品", 22.00, 2, 300, None),
    ("急救箱", "劳保用品", 168.00, 1, 20, None),
    ("中秋月饼礼盒", "节日礼品", 398.00, 6, 300, {8: 1.0, 9: 4.0, 10: 0.6}),
    ("端午粽子礼盒", "节日礼品", 168.00, 5, 300, {5: 2.5, 6: 2.0}),
    ("新春年货礼盒", "节日礼品", 458.00, 6, 300, {12: 1.0, 1: 4.0, 2: 1.2}),
    ("定制保温杯", "节日礼品", 89.00, 2, 300, None),
    ("定制笔记本礼盒", "节日礼品", 128.00, 1, 300, None),
    ("茶具套装", "节日礼品", 599.00, 1, 50, None),
]

# Products bought together far more often than chance (name, products, weight).
BUNDLES: list[tuple[str, tuple[str, ...], float]] = [
    ("打印套装", ("黑白激光打印机", "激光打印机硒鼓", "A4复印纸70g（5包/箱）"), 3),
    ("一体机套装", ("彩色多功能一体机", "彩色墨盒", "A4复印纸70g（5包/箱）"), 2),
    ("耗材补给", ("激光打印机硒鼓", "A4复印纸70g（5包/箱）"), 3),
    ("移动办公", ("轻薄笔记本电脑", "无线键鼠套装", "Type-C扩展坞"), 3),
    ("台式工位", ("商用台式电脑", "27英寸显示器", "无线键鼠套装"), 3),
    ("工位家具", ("1.4米办公桌", "人体工学办公椅"), 3),
    ("会议室", ("2.4米会议桌", "商务投影仪"), 1),
    ("文具组合", ("中性笔0.5mm（12支装）", "A5笔记本（5本装）", "便利贴（10本装）"), 4),
    ("归档组合", ("文件夹（10个装）", "档案盒（10个装）"), 2),
    ("清洁组合", ("抽纸（24包/箱）", "卷纸（27卷/提）", "洗手液（500ml×4瓶）"), 4),
    ("茶水间", ("速溶咖啡（100条装）", "一次性纸杯（500只）", "瓶装饮用水（550ml×24瓶）"), 3),
    ("安全防护", ("劳保手套（12双）", "安全帽", "反光背心"), 3),
    ("定制礼品", ("定制保温杯", "定制笔记本礼盒"), 1),
]

INDUSTRIES = ("制造业", "零售", "教育", "医疗", "互联网", "餐饮", "物流", "金融", "建筑")
INDUSTRY_WEIGHTS = (0.20, 0.13, 0.10, 0.08, 0.14, 0.10, 0.09, 0.07, 0.09)
# category profile (order of CATEGORIES) per industry, plus individuals (个人客户) last
CATEGORY_PROFILES = np.array([
    [2.0, 1.0, 1.5, 1.0, 1.0, 2.0, 1.5, 4.0, 1.0],  # 制造业
    [2.0, 1.0, 1.5, 1.0, 1.0, 2.0, 1.5, 1.0, 1.5],  # 零售
    [4.0, 2.0, 3.0, 2.0, 2.0, 1.5, 1.0, 0.3, 0.8],  # 教育
    [2.0, 1.0, 2.0, 1.5, 1.0, 3.0, 1.0, 2.5, 0.5],  # 医疗
    [1.5, 1.5, 1.0, 4.0, 2.5, 1.5, 3.0, 0.2, 1.5],  # 互联网
    [1.0, 0.5, 1.0, 0.5, 0.5, 4.0, 2.0, 2.0, 0.8],  # 餐饮
    [1.5, 1.0, 3.0, 1.0, 0.5, 1.5, 1.0, 3.0, 0.5],  # 物流
    [3.0, 2.0, 2.5, 2.5, 1.5, 1.5, 2.0, 0.2, 2.0],  # 金融
    [1.0, 0.5, 1.0, 1.0, 0.5, 1.5, 1.0, 5.0, 0.5],  # 建筑
    [2.0, 0.3, 1.5, 3.0, 0.8, 2.0, 3.0, 0.3, 3.0],  # 个人客户
])
COMPANY_WORDS = {
    "制造业": ["机械", "精密制造", "电子", "新材料", "汽车配件", "模具"],
    "零售": ["商贸", "百货", "便利店", "超市"],
    "教育": ["教育科技", "培训学校", "文化传播"],
    "医疗": ["医疗器械", "医药", "健康管理", "口腔门诊部"],
    "互联网": ["网络科技", "信息技术", "软件", "数据科技"],
    "餐饮": ["餐饮管理", "食品", "酒店管理"],
    "物流": ["物流", "供应链管理", "快运"],
    "金融": ["投资管理", "融资租赁", "保险代理"],
    "建筑": ["建设工程", "建筑劳务", "装饰工程"],
}
LEGAL_FORMS = (("有限公司", 0.82), ("股份有限公司", 0.08), ("有限责任公司", 0.10))
BRAND_CHARS = [
    ("恒", "heng"), ("信", "xin"), ("华", "hua"), ("鑫", "xin"), ("泰", "tai"), ("达", "da"), ("远", "yuan"),
    ("盛", "sheng"), ("通", "tong"), ("博", "bo"), ("瑞", "rui"), ("宏", "hong"), ("鼎", "ding"), ("嘉", "jia"),
    ("康", "kang"), ("联", "lian"), ("创", "chuang"), ("宇", "yu"), ("天", "tian"), ("海", "hai"), ("金", "jin"),
    ("源", "yuan"), ("东", "dong"), ("方", "fang"), ("新", "xin"), ("立", "li"), ("德", "de"), ("安", "an"),
    ("永", "yong"), ("和", "he"), ("正", "zheng"), ("兴", "xing"), ("隆", "long"), ("明", "ming"), ("辉", "hui"),
    ("佳", "jia"), ("益", "yi"), ("诚", "cheng"), ("聚", "ju"), ("汇", "hui"), ("航", "hang"), ("云", "yun"),
    ("启", "qi"), ("峰", "feng"), ("锦", "jin"), ("顺", "shun"), ("昌", "chang"), ("科", "ke"),
]
# (surname, pinyin, frequency %)
SURNAMES = [
    ("王", "wang", 7.1), ("李", "li", 7.0), ("张", "zhang", 6.7), ("刘", "liu", 5.4), ("陈", "chen", 4.5),
    ("杨", "yang", 3.1), ("黄", "huang", 2.2), ("赵", "zhao", 2.0), ("吴", "wu", 2.0), ("周", "zhou", 1.9),
    ("徐", "xu", 1.5), ("孙", "sun", 1.5), ("马", "ma", 1.4), ("朱", "zhu", 1.3), ("胡", "hu", 1.3),
    ("郭", "guo", 1.1), ("何", "he", 1.1), ("高", "gao", 1.0), ("林", "lin", 1.0), ("罗", "luo", 0.9),
    ("郑", "zheng", 0.9), ("梁", "liang", 0.9), ("谢", "xie", 0.8), ("宋", "song", 0.7), ("唐", "tang", 0.7),
    ("许", "xu", 0.7), ("韩", "han", 0.7), ("冯", "feng", 0.7), ("邓", "deng", 0.7), ("曹", "cao", 0.6),
    ("彭", "peng", 0.6), ("曾", "zeng", 0.6), ("肖", "xiao", 0.6), ("田", "tian", 0.5), ("董", "dong", 0.5),
    ("袁", "yuan", 0.5), ("潘", "pan", 0.5), ("于", "yu", 0.5), ("蒋", "jiang", 0.5), ("蔡", "cai", 0.5),
]
GIVEN_CHARS = {
    "男": [("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("勇", "yong"), ("杰", "jie"),
          ("涛", "tao"), ("斌", "bin"), ("浩", "hao"), ("鹏", "peng"), ("建", "jian"), ("明", "ming"),
          ("超", "chao"), ("志", "zhi"), ("刚", "gang"), ("宇", "yu"), ("俊", "jun"), ("峰", "feng"),
          ("飞", "fei"), ("鑫", "xin"), ("晨", "chen"), ("博", "bo"), ("文", "wen"), ("辉", "hui"),
          ("子", "zi"), ("嘉", "jia"), ("晓", "xiao"), ("一", "yi")],
    "女": [("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("艳", "yan"),
          ("娟", "juan"), ("霞", "xia"), ("婷", "ting"), ("雪", "xue"), ("慧", "hui"), ("琳", "lin"),
          ("颖", "ying"), ("洁", "jie"), ("玲", "ling"), ("倩", "qian"), ("欣", "xin"), ("怡", "yi"),
          ("佳", "jia"), ("悦", "yue"), ("萍", "ping"), ("蕾", "lei"), ("思", "si"), ("雨", "yu"),
          ("诗", "shi"), ("晓", "xiao"), ("梓", "zi"), ("嘉", "jia")],
}
# real mobile number segments (号段)
PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                  "155", "156", "157", "158", "159", "166", "173", "176", "177", "180", "181", "182", "183",
                  "185", "186", "187", "188", "189", "191", "198", "199")
PERSONAL_MAIL = (("qq.com", 0.45), ("163.com", 0.25), ("126.com", 0.10), ("sina.com", 0.05),
                 ("outlook.com", 0.08), ("foxmail.com", 0.07))
COMPANY_MAILBOXES = ("info", "contact", "caigou", "admin", "purchase", "service", "office")

# Interactions ------------------------------------------------------------------------------------
INTERACTION_TYPES = ("call", "visit", "email", "meeting", "campaign", "complaint", "feedback")
_CALL, _VISIT, _EMAIL, _MEETING, _CAMPAIGN, _COMPLAINT, _FEEDBACK = range(7)
# service contact type mix (call, visit, email, meeting) for enterprises and individuals
SERVICE_MIX = {"enterprise": (0.45, 0.20, 0.20, 0.15), "individual": (0.55, 0.0, 0.45, 0.0)}
# outcome -> notes, per type; "lapsed" notes are used after a customer has dropped out
NOTES: dict[str, dict[str, list[str]]] = {
    "call": {
        "connected": ["例行回访，客户使用正常", "确认下季度采购计划", "沟通新品报价", "提醒续订耗材",
                      "询问近期采购需求", "确认发票与对账信息"],
        "no_answer": ["电话未接通", "无人接听，稍后再联系", "客户在忙，约改日再谈"],
        "follow_up": ["客户需要报价单，待跟进", "客户考虑中，下周再联系", "客户询问批量折扣，待确认"],
        "lapsed": ["客户称暂无采购需求", "客户已与其他供应商合作", "原联系人已离职", "客户表示预算收紧"],
    },
    "visit": {
        "completed": ["上门拜访，了解采购流程", "现场演示新款设备", "拜访采购负责人，关系良好", "巡检设备使用情况"],
        "follow_up": ["客户提出定制需求，待回复", "客户要求提供样品", "需安排技术人员上门"],
        "opportunity": ["发现新项目机会，预计下月下单", "客户新办公区装修，有家具需求", "客户扩招，有电脑采购计划"],
        "lapsed": ["拜访未见到负责人", "客户对合作兴趣下降"],
    },
    "email": {
        "sent": ["发送产品目录", "发送月度对账单", "发送报价单", "发送新品资料"],
        "replied": ["客户回复确认收货", "客户回邮询问折扣", "客户回复确认报价"],
        "lapsed": ["邮件未获回复", "邮件被退回"],
    },
    "meeting": {
        "completed": ["季度业务回顾会议", "年度框架协议洽谈", "新品推介会", "服务质量沟通会"],
        "opportunity": ["洽谈年度集采合同", "讨论办公室整体采购方案"],
        "lapsed": ["会议被客户取消"],
    },
    "lead": {
        "any": ["初次沟通，介绍公司产品", "客户索要报价单", "客户在比较多家供应商", "客户暂无预算，下季度再联系",
                "约定上门演示", "发送产品目录与价格表"],
    },
    "complaint": {
        "any": ["配送延迟，客户不满", "商品破损，要求换货", "硒鼓漏粉，申请退货", "发票信息有误", "价格高于竞品",
                "售后响应太慢", "到货数量不符", "质量问题，要求退款", "送货人员态度差", "多次催单才发货"],
    },
    "feedback": {
        "positive": ["对服务很满意", "物流很快，好评", "产品质量不错", "客户经理响应及时"],
        "neutral": ["整体一般，价格偏高", "希望增加品类", "包装可以更环保"],
        "negative": ["体验较差，考虑换供应商", "发货太慢", "客服态度一般", "产品与描述不符"],
    },
}
SERVICE_CHANNELS = {"call": "电话", "visit": "上门拜访", "email": "邮件", "meeting": "会议"}
COMPLAINT_CHANNELS = (("电话", 0.45), ("微信", 0.25), ("在线客服", 0.20), ("邮件", 0.10))
FEEDBACK_CHANNELS = (("问卷", 0.40), ("微信", 0.30), ("在线客服", 0.30))
CAMPAIGN_CHANNELS = (("短信", 0.35), ("微信", 0.30), ("邮件", 0.20), ("APP推送", 0.15))

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"


@dataclass(frozen=True)
class SampleParams:
    """Knobs of the generating process; the defaults give the documented sample (sample_data/README.md).

    Rates are per day. ``purchase_r``/``purchase_alpha_days`` are BG/NBD's r and α (mean rate r/α per
    day), ``dropout_a``/``dropout_b`` its a and b; ``spend_p``/``spend_q`` are Gamma–Gamma's p and q.
    """

    enterprise_share: float = 0.62
    prospect_rate: float = 0.045  # base chance a customer never orders (raised for trade-show and direct leads)
    purchase_r: float = 2.0
    purchase_alpha_days: float = 170.0
    max_purchase_rate: float = 0.25  # at most one order every four days on average
    enterprise_rate_factor: float = 1.25
    individual_rate_factor: float = 0.75
    dropout_a: float = 1.2
    dropout_b: float = 25.0
    first_order_dropout: float = 0.22  # drop out right after the first order (MBG/NBD-style)
    spend_p: float = 4.0
    spend_q: float = 2.6
    enterprise_order_value: float = 2600.0  # mean order value (¥) of an average enterprise
    individual_order_value: float = 480.0
    extra_lines_enterprise: float = 1.0  # lines per order = 1 + Poisson(·)
    extra_lines_individual: float = 0.6
    max_lines: int = 8
    bundle_share: float = 0.32  # share of orders built around a bundle
    bundle_item_keep: float = 0.8  # chance each further bundle item is in the order
    category_concentration: float = 5.0  # Dirichlet concentration of a customer's category preferences
    refund_rate: float = 0.017  # share of orders with a refund line
    refund_rate_last_order: float = 0.10  # … for the last order before a customer drops out
    winback_share: float = 0.10  # share of long-dormant dropouts who come back
    winback_min_gap_days: float = 270.0
    acquisition_growth: float = 1.8  # acquisition rate at the end relative to the start
    existing_share: float = 0.2  # customers already on the books when the period starts
    existing_max_age_days: float = 1460.0  # … signed up up to this many days before the start
    existing_first_order_days: float = 120.0  # cap on the mean wait for their first order in the period
    churn_window_days: float = 120.0  # dissatisfaction builds up over this many days before dropout
    complaint_rate: float = 0.01  # chance an ordinary order leads to a complaint
    complaint_rate_buildup: float = 0.15  # … added as dissatisfaction builds up before dropout
    complaint_rate_dropout: float = 0.3  # … for the last order before dropout
    late_complaint_rate: float = 0.15  # extra complaint in the weeks after dropout
    feedback_rate: float = 0.07  # chance an order leads to feedback
    service_days_enterprise: float = 130.0  # mean days between rep contacts for an average enterprise
    service_days_individual: float = 420.0
    campaign_reach: float = 0.10  # share of known customers each mass campaign reaches
    winback_campaign_reach: float = 0.5  # share of dormant customers each win-back campaign reaches
    dormant_days: float = 180.0  # win-back campaigns go to customers without an order for this long
    campaign_response: float = 0.22  # chance an active customer responds to a campaign
    campaign_response_lapsed: float = 0.03  # … a customer who has dropped out
    campaign_response_lead: float = 0.08  # … a prospect
    satisfaction_drop: float = 1.6  # points lost by the time a customer drops out


DEFAULT_PARAMS = SampleParams()


# ---------------------------------------------------------------------------------------------------
# Calendar
# ---------------------------------------------------------------------------------------------------

def _day_numbers(start: date, n_days: int) -> np.ndarray:
    """Days since 1970-01-01 of each calendar day."""
    return np.arange(n_days, dtype=np.int64) + (np.datetime64(start, "D").astype(np.int64))


def purchase_intensity(start: date, n_days: int) -> np.ndarray:
    """Relative order intensity of each day from ``start`` (mean 1 over the period).

    Weekdays above weekends; the Spring Festival dip on the real 春节 dates (known for 2015–2030, no dip
    outside them); Labour Day and National Day holidays; the 618, 双11 and 双12 shopping festivals and
    their run-ups; year-end budgets in December.
    """
    day_numbers = _day_numbers(start, n_days)
    days = day_numbers.astype("datetime64[D]")
    weekday = (day_numbers + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    weekday_factor = np.array([1.1, 1.1, 1.1, 1.1, 1.05, 0.7, 0.6])
    intensity = weekday_factor[weekday]
    years = days.astype("datetime64[Y]").astype(int) + 1970
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    day_of_month = (days - days.astype("datetime64[M]")).astype(int) + 1

    # Spring Festival: stocking up before, near standstill over the holiday, slow restart until 元宵.
    for year in np.unique(np.concatenate([years - 1, years, years + 1])):
        festival = SPRING_FESTIVAL.get(int(year))
        if festival is None:
            continue
        offset = day_numbers - np.datetime64(festival, "D").astype(np.int64)
        intensity = np.where((offset >= -24) & (offset <= -8), intensity * 1.12, intensity)
        intensity = np.where((offset >= -7) & (offset <= -2), intensity * 0.5, intensity)
        intensity = np.where((offset >= -1) & (offset <= 6), intensity * 0.12, intensity)
        intensity = np.where((offset >= 7) & (offset <= 14), intensity * 0.55, intensity)
        intensity = np.where((offset >= 15) & (offset <= 21), intensity * 0.85, intensity)

    def window(m: int, first: int, last: int) -> np.ndarray:
        return (month == m) & (day_of_month >= first) & (day_of_month <= last)

    factors = [
        (window(5, 1, 5), 0.6),  # Labour Day holiday
        (window(5, 25, 31), 1.15),  # 618 pre-sale
        (window(6, 1, 17), 1.4),  # 618 campaign
        (window(6, 18, 18), 3.0),  # 618
        (window(10, 1, 7), 0.45),  # National Day golden week
        (window(10, 20, 31), 1.15),  # 双11 pre-sale
        (window(11, 1, 10), 1.5),
        (window(11, 11, 11), 4.0),  # 双11
        (window(11, 12, 15), 1.2),
        (window(12, 1, 25), 1.12),  # year-end budgets
        (window(12, 12, 12), 1.8),  # 双12
    ]
    for mask, factor in factors:
        intensity = np.where(mask, intensity * factor, intensity)
    # The shopping-festival days themselves peak whatever the weekday.
    festival_day = window(6, 18, 18) | window(11, 11, 11) | window(12, 12, 12)
    intensity = np.where(festival_day, intensity / weekday_factor[weekday], intensity)
    return intensity / intensity.mean()


def _promotion_days(start: date, n_days: int) -> np.ndarray:
    """Whether each day falls in an online promotion (618, 双11, 双12) with extra discount."""
    days = _day_numbers(start, n_days).astype("datetime64[D]")
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    day_of_month = (days - days.astype("datetime64[M]")).astype(int) + 1
    return (((month == 6) & (day_of_month <= 18)) | ((month == 11) & (day_of_month <= 11))
            | ((month == 12) & (day_of_month == 12)))


# ---------------------------------------------------------------------------------------------------
# Small vectorised helpers
# ---------------------------------------------------------------------------------------------------

def _choice(rng: np.random.Generator, size: int, weights) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights."""
    probabilities = np.asarray(weights, dtype=float)
    return rng.choice(len(probabilities), size=size, p=probabilities / probabilities.sum())


def _row_choice(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One index per row of ``weights`` (n × k, unnormalised, each row with a positive sum)."""
    cumulative = np.cumsum(weights, axis=1)
    threshold = rng.random(len(weights)) * cumulative[:, -1]
    return np.minimum((cumulative <= threshold[:, None]).sum(axis=1), weights.shape[1] - 1)


def _group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Position of the first row of each row's group in an array sorted by key."""
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=np.int64)
    is_first = np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]])
    return np.maximum.accumulate(np.where(is_first, np.arange(len(sorted_keys)), 0))


def _time_of_day(rng: np.random.Generator, online: np.ndarray) -> np.ndarray:
    """Fraction of a day: office hours for offline contacts, office hours plus evenings online."""
    office = np.array([0, 0, 0, 0, 0, 0, 0, 0.05, 0.3, 1.0, 1.4, 1.3, 0.5, 0.7, 1.3, 1.3, 1.1, 0.7, 0.3,
                       0.05, 0, 0, 0, 0])
    evening = office + np.array([0.04, 0.02, 0.01, 0.01, 0.01, 0.01, 0.03, 0.1, 0.2, 0, 0, 0, 0.4, 0.2, 0,
                                 0, 0, 0, 0.3, 0.6, 1.0, 1.2, 0.9, 0.4])
    hours = np.where(online, _choice(rng, len(online), evening), _choice(rng, len(online), office))
    seconds = rng.integers(0, 3600, size=len(online))
    return (hours * 3600 + seconds) / 86400.0


# ---------------------------------------------------------------------------------------------------
# Customers
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Customers:
    """Per-customer arrays (index = position); strings are filled in later."""

    is_enterprise: np.ndarray
    region: np.ndarray
    city: np.ndarray  # global city index
    channel: np.ndarray  # acquisition channel index
    industry: np.ndarray  # index into INDUSTRIES, -1 for individuals
    signup_day: np.ndarray
    owner: np.ndarray  # global rep index
    is_prospect: np.ndarray
    is_existing: np.ndarray  # signed up before the period (the base at the start of the extract)


def _signup_days(rng: np.random.Generator, channel: np.ndarray, start: date, n_days: int,
                 intensity: np.ndarray, growth: float) -> np.ndarray:
    """Acquisition spread over the period: growing, busier in promotions, trade-show leads in bursts."""
    trend = 1.0 + (growth - 1.0) * np.arange(n_days) / max(n_days - 1, 1)
    density = trend * intensity ** 0.6
    days = _choice(rng, len(channel), density)
    shows = []
    for year in range(start.year, start.year + n_days // 365 + 2):
        for month, day in ((3, 18), (9, 12)):  # spring and autumn office-supplies fairs
            offset = (date(year, month, day) - start).days
            if 0 <= offset < n_days - 4:
                shows.append(offset)
    is_show = channel == ACQUISITION_CHANNELS.index("展会")
    if shows and is_show.any():
        show_weights = 1.0 + (growth - 1.0) * np.array(shows) / max(n_days - 1, 1)
        picked = np.array(shows)[_choice(rng, int(is_show.sum()), show_weights)]
        days[is_show] = picked + rng.integers(0, 4, size=int(is_show.sum()))
    return days


def _draw_customers(rng: np.random.Generator, n: int, start: date, n_days: int, intensity: np.ndarray,
                    params: SampleParams) -> _Customers:
    is_enterprise = rng.random(n) < params.enterprise_share
    region_names = list(REGIONS)
    region = _choice(rng, n, [REGION_WEIGHTS[r] for r in region_names])
    city_offsets = np.cumsum([0] + [len(REGIONS[r]) for r in region_names])
    rep_offsets = np.cumsum([0] + [len(SALES_REPS[r]) for r in region_names])
    city = np.zeros(n, dtype=np.int64)
    owner = np.zeros(n, dtype=np.int64)
    for index, name in enumerate(region_names):  # seven regions, not customers
        members = np.flatnonzero(region == index)
        city[members] = city_offsets[index] + _choice(rng, len(members), [c[2] for c in REGIONS[name]])
        owner[members] = rep_offsets[index] + rng.integers(0, len(SALES_REPS[name]), size=len(members))
    channel = np.where(is_enterprise, _choice(rng, n, CHANNEL_WEIGHTS["enterprise"]),
                       _choice(rng, n, CHANNEL_WEIGHTS["individual"]))
    industry = np.where(is_enterprise, _choice(rng, n, INDUSTRY_WEIGHTS), -1)
    is_existing = rng.random(n) < params.existing_share
    signup_day = _signup_days(rng, channel, start, n_days, intensity, params.acquisition_growth)
    earlier = -np.round(rng.uniform(30.0, params.existing_max_age_days, size=n)).astype(np.int64)
    signup_day = np.where(is_existing, earlier, signup_day)
    lead_factor = np.array([1.0, 1.0, 0.8, 2.0, 1.5, 3.5])[channel]  # 展会 and 直销 leads often stay leads
    is_prospect = ~is_existing & (rng.random(n) < params.prospect_rate * lead_factor)
    return _Customers(is_enterprise, region, city, channel, industry, signup_day, owner, is_prospect,
                      is_existing)


# ---------------------------------------------------------------------------------------------------
# Purchases (BG/NBD with a calendar)
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Purchases:
    customer: np.ndarray  # customer index of each order
    time: np.ndarray  # days since start (float)
    is_winback: np.ndarray
    rate: np.ndarray  # per customer λ (per day)
    mean_value: np.ndarray  # per customer mean order value (¥)
    dropout_time: np.ndarray  # per customer time of the last order before dropping out; inf if alive
    return_time: np.ndarray  # per customer time of the win-back order; inf if none


def _draw_purchases(rng: np.random.Generator, customers: _Customers, n_days: int, intensity: np.ndarray,
                    params: SampleParams) -> _Purchases:
    n = len(customers.signup_day)
    enterprise = customers.is_enterprise
    # BG/NBD: λ ~ Gamma(r, α), p ~ Beta(a, b); a segment factor separates enterprises from individuals.
    rate = rng.gamma(params.purchase_r, 1.0 / params.purchase_alpha_days, size=n)
    rate = np.minimum(rate * np.where(enterprise, params.enterprise_rate_factor, params.individual_rate_factor),
                      params.max_purchase_rate)
    dropout_p = rng.beta(params.dropout_a, params.dropout_b, size=n)
    repeats_until_dropout = rng.geometric(dropout_p)  # drop out after this many repeat orders
    repeats_until_dropout[rng.random(n) < params.first_order_dropout] = 0
    # Gamma–Gamma: ν ~ Gamma(q, 1); the customer's mean order value is scale·(q−1)/ν (mean = scale).
    nu = rng.gamma(params.spend_q, 1.0, size=n)
    scale = np.where(enterprise, params.enterprise_order_value, params.individual_order_value)
    mean_value = scale * (params.spend_q - 1.0) / nu

    # First order: same day online, after a sales cycle for leads won by reps.
    slow = np.isin(customers.channel, [ACQUISITION_CHANNELS.index(c) for c in ("直销", "代理商", "展会")])
    lag = np.where(slow, rng.exponential(21.0, size=n), rng.exponential(1.5, size=n) * (rng.random(n) < 0.4))
    first_day = customers.signup_day + np.floor(lag).astype(np.int64)
    # Customers of the existing base are alive at the start and order again within about one cycle.
    existing_lag = rng.exponential(np.minimum(1.0 / np.maximum(rate, 1e-9), params.existing_first_order_days))
    first_day = np.where(customers.is_existing, np.floor(existing_lag).astype(np.int64), first_day)
    buyer = ~customers.is_prospect & (first_day < n_days)

    # Repeat orders: a Poisson process with rate λ·intensity(t) from the day after the first order.
    cumulative = np.concatenate([[0.0], np.cumsum(intensity)])
    grid = np.arange(n_days + 1, dtype=float)
    window_start = np.minimum(first_day + 1, n_days)
    low = cumulative[np.where(buyer, window_start, n_days)]
    mass = rate * (cumulative[n_days] - low)
    counts = rng.poisson(mass) * buyer
    owner = np.repeat(np.arange(n), counts)
    uniform = low[owner] + rng.random(len(owner)) * (cumulative[n_days] - low[owner])
    repeat_time = np.interp(uniform, cumulative, grid)
    order = np.lexsort((repeat_time, owner))
    owner, repeat_time = owner[order], repeat_time[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    rank = np.arange(len(owner)) - starts[owner]
    keep = rank < repeats_until_dropout[owner]
    owner, repeat_time, rank = owner[keep], repeat_time[keep], rank[keep]

    # Dropout happened inside the window when the process reached the dropout purchase.
    first_time = first_day.astype(float)
    dropout_time = np.full(n, np.inf)
    dead = buyer & (repeats_until_dropout <= counts)
    first_dropouts = dead & (repeats_until_dropout == 0)
    dropout_time[first_dropouts] = first_time[first_dropouts]
    last_repeat = rank == repeats_until_dropout[owner] - 1
    dropout_time[owner[last_repeat]] = repeat_time[last_repeat]

    # Win-back: a few long-dormant dropouts return, buy once or a few times, and leave again.
    eligible = np.isfinite(dropout_time) & (dropout_time < n_days - params.winback_min_gap_days - 60)
    returning = eligible & (rng.random(n) < params.winback_share)
    return_time = np.full(n, np.inf)
    gap = params.winback_min_gap_days + rng.exponential(200.0, size=n)
    return_time[returning] = np.floor(dropout_time[returning] + gap[returning])
    returning &= return_time < n_days
    return_time[~returning] = np.inf
    extra = rng.poisson(1.0, size=n) * returning
    winback_owner = np.concatenate([np.flatnonzero(returning), np.repeat(np.arange(n), extra)])
    winback_time = np.concatenate([
        return_time[returning],
        return_time[np.repeat(np.arange(n), extra)] + rng.uniform(20.0, 240.0, size=int(extra.sum())),
    ])
    in_window = winback_time < n_days

    buyers = np.flatnonzero(buyer)
    customer = np.concatenate([buyers, owner, winback_owner[in_window]])
    day = np.floor(np.concatenate([first_time[buyers], repeat_time, winback_time[in_window]])).astype(np.int64)
    is_winback = np.concatenate([np.zeros(len(buyers) + len(owner), dtype=bool), np.ones(int(in_window.sum()),
                                                                                         dtype=bool)])
    return _Purchases(customer, day.astype(float), is_winback, rate, mean_value, np.floor(dropout_time),
                      return_time)


# ---------------------------------------------------------------------------------------------------
# Orders and lines
# ---------------------------------------------------------------------------------------------------

def _category_preferences(rng: np.random.Generator, customers: _Customers, concentration: float) -> np.ndarray:
    """Per-customer category shares: a Dirichlet draw around the industry (or individual) profile."""
    profile_row = np.where(customers.industry >= 0, customers.industry, len(INDUSTRIES))
    profile = CATEGORY_PROFILES[profile_row]
    alpha = profile / profile.sum(axis=1, keepdims=True) * concentration * len(CATEGORIES) / 2
    draws = rng.gamma(alpha)
    return draws / draws.sum(axis=1, keepdims=True)


def _product_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Category of each product, month × category weight, month × category × slot cumulative product
    weights (padded), and each category's first product index."""
    category_of = np.array([CATEGORIES.index(p[1]) for p in PRODUCTS])
    month_weight = np.array([[p[3] * ((p[5] or {}).get(m, 0.0) if p[5] else 1.0) for p in PRODUCTS]
                             for m in range(1, 13)])  # 12 × products
    n_cat = len(CATEGORIES)
    first = np.array([np.flatnonzero(category_of == c)[0] for c in range(n_cat)])
    sizes = np.bincount(category_of, minlength=n_cat)
    slots = sizes.max()
    cumulative = np.zeros((12, n_cat, slots))
    category_weight = np.zeros((12, n_cat))
    annual = np.array([sum(p[3] for p in PRODUCTS if p[1] == c) for c in CATEGORIES])
    for c in range(n_cat):
        block = month_weight[:, first[c]:first[c] + sizes[c]]
        running = np.cumsum(block, axis=1)
        cumulative[:, c, :sizes[c]] = running
        cumulative[:, c, sizes[c]:] = running[:, -1:]
        category_weight[:, c] = block.sum(axis=1) / annual[c]
    return category_of, category_weight, cumulative, first


def _draw_lines(rng: np.random.Generator, customers: _Customers, purchases: _Purchases, month: np.ndarray,
                params: SampleParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lines of every order: (order index, product index, quantity) sorted by order, one product per order.

    Orders around a bundle carry its items with a common quantity (N workstations get N chairs); the
    other lines follow the customer's category preferences and the month.
    """
    n_orders = len(purchases.customer)
    customer = purchases.customer
    preferences = _category_preferences(rng, customers, params.category_concentration)
    _, category_weight, product_cumulative, first_product = _product_tables()
    product_index = {p[0]: i for i, p in enumerate(PRODUCTS)}
    prices = np.array([p[2] for p in PRODUCTS])
    max_quantity = np.array([p[4] for p in PRODUCTS])

    enterprise = customers.is_enterprise[customer]
    n_lines = 1 + rng.poisson(np.where(enterprise, params.extra_lines_enterprise, params.extra_lines_individual))
    n_lines = np.minimum(n_lines, params.max_lines)
    order_value = rng.gamma(params.spend_p, purchases.mean_value[customer] / params.spend_p)

    # Bundles: chosen by the customer's taste for the bundle's leading category.
    has_bundle = rng.random(n_orders) < params.bundle_share
    bundle_orders = np.flatnonzero(has_bundle)
    lead_category = np.array([CATEGORIES.index(PRODUCTS[product_index[b[1][0]]][1]) for b in BUNDLES])
    bundle_weights = np.array([b[2] for b in BUNDLES]) * preferences[customer[bundle_orders]][:, lead_category]
    bundle = _row_choice(rng, bundle_weights)
    sizes = np.array([len(b[1]) for b in BUNDLES])
    items = np.array([[product_index[p] for p in b[1]] + [-1] * (sizes.max() - len(b[1])) for b in BUNDLES])
    bundle_line_order = np.repeat(bundle_orders, sizes[bundle])
    position = np.arange(len(bundle_line_order)) - np.repeat(np.cumsum(sizes[bundle]) - sizes[bundle],
                                                             sizes[bundle])
    bundle_product = items[np.repeat(bundle, sizes[bundle]), position]
    kept = (position < 2) | (rng.random(len(position)) < params.bundle_item_keep)
    bundle_line_order, bundle_product = bundle_line_order[kept], bundle_product[kept]
    # A bundle's share of the order value buys the same number of each item.
    bundle_unit_cost = np.bincount(np.searchsorted(bundle_orders, bundle_line_order),
                                   weights=prices[bundle_product], minlength=len(bundle_orders))
    bundle_value = order_value[bundle_orders] * np.where(n_lines[bundle_orders] > 2, 0.6, 0.9)
    bundle_quantity = np.maximum(1, np.round(bundle_value / bundle_unit_cost))
    bundle_line_quantity = bundle_quantity[np.searchsorted(bundle_orders, bundle_line_order)]
    bundle_line_quantity = np.minimum(bundle_line_quantity, max_quantity[bundle_product])

    # Other lines: category by preference × season, product by popularity × season.
    filler_count = np.where(has_bundle, np.maximum(n_lines - 2, 0), n_lines)
    filler_order = np.repeat(np.arange(n_orders), filler_count)
    filler_month = month[filler_order]
    category = _row_choice(rng, preferences[customer[filler_order]] * category_weight[filler_month])
    cumulative = product_cumulative[filler_month, category]
    threshold = rng.random(len(filler_order)) * cumulative[:, -1]
    filler_product = first_product[category] + (cumulative <= threshold[:, None]).sum(axis=1)
    remaining_value = order_value - np.bincount(bundle_line_order, weights=prices[bundle_product]
                                                * bundle_line_quantity, minlength=n_orders)
    share = rng.exponential(1.0, size=len(filler_order))
    share_total = np.bincount(filler_order, weights=share, minlength=n_orders)
    line_value = np.maximum(remaining_value[filler_order], 0.0) * share / share_total[filler_order]
    filler_quantity = np.clip(np.round(line_value / prices[filler_product]), 1, max_quantity[filler_product])

    line_order = np.concatenate([bundle_line_order, filler_order])
    product = np.concatenate([bundle_product, filler_product])
    quantity = np.concatenate([bundle_line_quantity, filler_quantity])
    sequence = np.concatenate([np.zeros(len(bundle_line_order)), np.ones(len(filler_order))])
    order = np.lexsort((np.arange(len(line_order)), sequence, line_order))
    line_order, product, quantity = line_order[order], product[order], quantity[order]
    # One line per product and order: the first occurrence wins.
    _, first_seen = np.unique(line_order * len(PRODUCTS) + product, return_index=True)
    keep = np.sort(first_seen)
    return line_order[keep], product[keep], quantity[keep]


# ---------------------------------------------------------------------------------------------------
# Names and contact details
# ---------------------------------------------------------------------------------------------------

def _pick(options: list[str] | tuple[str, ...], index: np.ndarray) -> pl.Series:
    """``options[index]`` as a polars String series (vectorised lookup)."""
    return pl.Series(list(options), dtype=pl.String).gather(index)


def _flat_choice(groups: list[list], group: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """Index into the concatenation of ``groups``: item ``pick mod size`` of each row's group."""
    sizes = np.array([len(g) for g in groups])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return offsets[group] + pick % sizes[group]


def _customer_table(rng: np.random.Generator, customers: _Customers, start: date) -> pl.DataFrame:
    """Names, contact details and attributes of every customer (without ``customer_id``).

    Enterprises get a company name (city + two-character brand + trade + legal form) and a company
    mailbox; individuals get a person name (surname by frequency, one or two given characters), gender,
    birthday and a personal mailbox. Phones are 11-digit mobiles on real 号段.
    """
    n = len(customers.signup_day)
    cities = [c for r in REGIONS for c in REGIONS[r]]
    reps = [name for r in REGIONS for name in SALES_REPS[r]]
    enterprise = customers.is_enterprise

    is_female = rng.random(n) < 0.52
    surname = _choice(rng, n, [s[2] for s in SURNAMES])
    given_groups = [GIVEN_CHARS["男"], GIVEN_CHARS["女"]]
    given_first = _flat_choice(given_groups, is_female.astype(np.int64), rng.integers(0, 10**6, size=n))
    given_second = _flat_choice(given_groups, is_female.astype(np.int64), rng.integers(0, 10**6, size=n))
    two_given = rng.random(n) < 0.62
    brand_first = rng.integers(0, len(BRAND_CHARS), size=n)
    brand_second = (brand_first + 1 + rng.integers(0, len(BRAND_CHARS) - 1, size=n)) % len(BRAND_CHARS)
    word_groups = [COMPANY_WORDS[i] for i in INDUSTRIES]
    word = _flat_choice(word_groups, np.maximum(customers.industry, 0), rng.integers(0, 10**6, size=n))
    legal = _choice(rng, n, [f[1] for f in LEGAL_FORMS])
    mailbox = rng.integers(0, len(COMPANY_MAILBOXES), size=n)
    personal_domain = _choice(rng, n, [d[1] for d in PERSONAL_MAIL])
    numeric_mail = (rng.random(n) < 0.4) & (personal_domain == 0)  # QQ numbers only at qq.com
    qq_number = rng.integers(10**7, 4 * 10**9, size=n)
    mail_digits = rng.integers(0, 100, size=n)
    age_days = rng.uniform(22 * 365.25, 58 * 365.25, size=n)
    phone_prefix = rng.integers(0, len(PHONE_PREFIXES), size=n)
    phone_rest = rng.integers(0, 10**8, size=n)
    has_email = rng.random(n) < np.where(enterprise, 0.9, 0.75)
    has_phone = rng.random(n) < 0.97

    given_chars = [c for group in given_groups for c in group]
    signup = (np.datetime64(start, "D") + customers.signup_day.astype("timedelta64[D]")).astype("datetime64[us]")
    birthday = (signup - np.round(age_days).astype("timedelta64[D]")).astype("datetime64[D]").astype(
        "datetime64[us]")
    parts = pl.DataFrame({
        "enterprise": enterprise,
        "numeric_mail": numeric_mail,
        "has_email": has_email,
        "has_phone": has_phone,
        "two_given": two_given,
        "city_name": _pick([c[0] for c in cities], customers.city),
        "city_pinyin": _pick([c[1] for c in cities], customers.city),
        "brand": _pick([c[0] for c in BRAND_CHARS], brand_first) + _pick([c[0] for c in BRAND_CHARS], brand_second),
        "brand_pinyin": _pick([c[1] for c in BRAND_CHARS], brand_first)
        + _pick([c[1] for c in BRAND_CHARS], brand_second),
        "trade": _pick([w for g in word_groups for w in g], word),
        "legal": _pick([f[0] for f in LEGAL_FORMS], legal),
        "mailbox": _pick(COMPANY_MAILBOXES, mailbox),
        "surname": _pick([s[0] for s in SURNAMES], surname),
        "surname_pinyin": _pick([s[1] for s in SURNAMES], surname),
        "given": _pick([c[0] for c in given_chars], given_first),
        "given_pinyin": _pick([c[1] for c in given_chars], given_first),
        "given2": _pick([c[0] for c in given_chars], given_second),
        "given2_pinyin": _pick([c[1] for c in given_chars], given_second),
        "domain": _pick([d[0] for d in PERSONAL_MAIL], personal_domain),
        "qq": qq_number,
        "digits": mail_digits,
        "phone": _pick(PHONE_PREFIXES, phone_prefix) + pl.Series(phone_rest).cast(pl.String).str.zfill(8),
    })
    col = pl.col
    second = pl.when(col("two_given"))
    person = pl.concat_str(col("surname"), col("given"), second.then(col("given2")).otherwise(pl.lit("")))
    person_pinyin = pl.concat_str(col("surname_pinyin"), col("given_pinyin"),
                                  second.then(col("given2_pinyin")).otherwise(pl.lit("")))
    company = pl.concat_str(col("city_name"), col("brand"), col("trade"), col("legal"))
    company_mail = pl.concat_str(col("mailbox"), pl.lit("@"), col("brand_pinyin"), pl.lit("-"), col("city_pinyin"),
                                 pl.lit(".com"))
    person_mail = pl.when(col("numeric_mail")).then(pl.concat_str(col("qq").cast(pl.String), pl.lit("@qq.com"))
                                                    ).otherwise(pl.concat_str(
                                                        person_pinyin, col("digits").cast(pl.String).str.zfill(2),
                                                        pl.lit("@"), col("domain")))
    individual = ~col("enterprise")
    return parts.select(
        name=pl.when(col("enterprise")).then(company).otherwise(person),
        signup_date=pl.Series(signup),
        region=_pick(list(REGIONS), customers.region),
        city=col("city_name"),
        channel=_pick(ACQUISITION_CHANNELS, customers.channel),
        industry=pl.when(col("enterprise")).then(_pick(INDUSTRIES, np.maximum(customers.industry, 0))),
        gender=pl.when(individual).then(pl.Series(np.where(is_female, "女", "男"))),
        birthday=pl.when(individual).then(pl.Series(birthday)),
        phone=pl.when(col("has_phone")).then(col("phone")),
        email=pl.when(col("has_email")).then(pl.when(col("enterprise")).then(company_mail).otherwise(person_mail)),
        owner=_pick(reps, customers.owner),
    )


# ---------------------------------------------------------------------------------------------------
# Interactions
# ---------------------------------------------------------------------------------------------------

def _dissatisfaction(time: np.ndarray, dropout: np.ndarray, returned: np.ndarray, window: float) -> np.ndarray:
    """0 → 1 over the ``window`` days before a customer's dropout order, 1 until they come back, else 0."""
    ramp = np.clip((time - (dropout - window)) / window, 0.0, 1.0)
    return np.where(np.isfinite(dropout) & (time < returned), ramp, 0.0)


def _pick_text(rng: np.random.Generator, options: list[str], size: int) -> np.ndarray:
    """``size`` texts drawn uniformly from ``options`` (object array)."""
    return np.array(options, dtype=object)[rng.integers(0, len(options), size=size)]


def _campaign_calendar(start: date, n_days: int) -> list[tuple[int, str, bool]]:
    """(day, campaign name, aimed at dormant customers) for every campaign in the period."""
    campaigns = []
    for year in range(start.year, start.year + n_days // 365 + 2):
        festival = SPRING_FESTIVAL.get(year)
        entries = [(date(year, 6, 1), "618年中大促", False), (date(year, 10, 28), "双11狂欢节", False),
                   (date(year, 9, 6), "会员日专享回馈", False), (date(year, 4, 15), "老客户召回礼券", True),
                   (date(year, 8, 20), "老客户召回礼券", True)]
        if festival is not None:
            entries.append((date.fromordinal(festival.toordinal() - 28), "春节年货节", False))
        for day, name, dormant in entries:
            offset = (day - start).days
            if 0 <= offset < n_days:
                campaigns.append((offset, name, dormant))
    return sorted(campaigns)


def _draw_interactions(rng: np.random.Generator, customers: _Customers, purchases: _Purchases,
                       order_time: np.ndarray, refunded: np.ndarray, campaigns: list[tuple[int, str, bool]],
                       n_days: int, params: SampleParams) -> dict[str, np.ndarray]:
    """Interaction rows as arrays: customer, time, type, channel, outcome, satisfaction, note."""
    n = len(customers.signup_day)
    dropout, returned = purchases.dropout_time, purchases.return_time
    signup = customers.signup_day.astype(float)
    contact_start = np.maximum(signup, 0.0)
    window = params.churn_window_days
    parts: list[dict[str, np.ndarray]] = []

    # 1. Service contacts by the account owner: calls, visits, emails, meetings; thinning out after dropout.
    value = purchases.rate * purchases.mean_value
    engagement = np.clip((value / max(np.median(value), 1e-9)) ** 0.3, 0.4, 2.5)
    contact_rate = np.where(customers.is_enterprise, engagement / params.service_days_enterprise,
                            engagement / params.service_days_individual)
    contact_rate = np.where(customers.is_prospect, 2.5 / params.service_days_enterprise, contact_rate)
    span_end = np.where(customers.is_prospect, np.minimum(signup + 240.0, n_days), float(n_days))
    counts = rng.poisson(contact_rate * np.maximum(span_end - contact_start, 0.0))
    who = np.repeat(np.arange(n), counts)
    when = contact_start[who] + rng.random(len(who)) * (span_end - contact_start)[who]
    ramp = _dissatisfaction(when, dropout[who], returned[who], window)
    lapsed = np.isfinite(dropout[who]) & (when > dropout[who]) & (when < returned[who])
    since_dropout = when - dropout[who]
    keep_share = np.where(lapsed, np.where(since_dropout < 120.0, 0.45, 0.12), 1.0 - 0.35 * ramp)
    keep = rng.random(len(who)) < keep_share
    who, when, lapsed, ramp = who[keep], when[keep], lapsed[keep], ramp[keep]
    mix = np.array([SERVICE_MIX["enterprise"], SERVICE_MIX["individual"]])[
        np.where(customers.is_enterprise[who], 0, 1)]
    kind = np.array([_CALL, _VISIT, _EMAIL, _MEETING])[_row_choice(rng, mix)]
    outcome = np.empty(len(who), dtype=object)
    note = np.empty(len(who), dtype=object)
    draw = rng.random(len(who))
    for code, name, choices in (
        (_CALL, "call", (("connected", 0.68), ("no_answer", 0.2), ("follow_up", 0.12))),
        (_VISIT, "visit", (("completed", 0.6), ("follow_up", 0.25), ("opportunity", 0.15))),
        (_EMAIL, "email", (("sent", 0.6), ("replied", 0.4))),
        (_MEETING, "meeting", (("completed", 0.7), ("opportunity", 0.3))),
    ):
        mask = kind == code
        bounds = np.cumsum([c[1] for c in choices])
        picked = np.minimum(np.searchsorted(bounds, draw[mask], side="right"), len(choices) - 1)
        outcome[mask] = np.array([c[0] for c in choices], dtype=object)[picked]
        for label, _ in choices:
            rows = np.flatnonzero(mask & (outcome == label))
            note[rows] = _pick_text(rng, NOTES[name][label], len(rows))
        # After dropout most contacts go nowhere.
        gone = np.flatnonzero(mask & lapsed & (rng.random(len(who)) < 0.7))
        outcome[gone] = {"call": "no_answer", "visit": "follow_up", "email": "sent", "meeting": "completed"}[name]
        note[gone] = _pick_text(rng, NOTES[name]["lapsed"], len(gone))
    # Leads who never ordered: the rep is still selling.
    prospect_rows = np.flatnonzero(customers.is_prospect[who])
    outcome[prospect_rows[(kind[prospect_rows] == _CALL) & (outcome[prospect_rows] == "connected")]] = "follow_up"
    note[prospect_rows] = _pick_text(rng, NOTES["lead"]["any"], len(prospect_rows))
    rated = ((kind == _VISIT) | (kind == _MEETING)) & (rng.random(len(who)) < 0.7) | (
        (kind == _CALL) & (outcome == "connected") & (rng.random(len(who)) < 0.4))
    parts.append({"customer": who, "time": when, "type": kind, "outcome": outcome, "note": note,
                  "channel": np.array([SERVICE_CHANNELS[t] for t in ("call", "visit", "email", "meeting")],
                                      dtype=object)[kind], "rated": rated, "offset": np.zeros(len(who))})

    # 2. Order-linked complaints and feedback: far more likely around the last order before dropout.
    buyer_of = purchases.customer
    order_ramp = _dissatisfaction(order_time, dropout[buyer_of], returned[buyer_of], window)
    is_dropout_order = (np.floor(order_time) == dropout[buyer_of]) & ~purchases.is_winback
    complaint_p = (params.complaint_rate + params.complaint_rate_buildup * order_ramp
                   + np.where(is_dropout_order, params.complaint_rate_dropout, 0.0) + 0.5 * refunded)
    complains = rng.random(len(order_time)) < np.minimum(complaint_p, 0.95)
    c_orders = np.flatnonzero(complains)
    late = np.flatnonzero(np.isfinite(dropout) & (rng.random(n) < params.late_complaint_rate))
    c_who = np.concatenate([buyer_of[c_orders], late])
    c_when = np.concatenate([order_time[c_orders] + rng.uniform(1.0, 15.0, size=len(c_orders)),
                             dropout[late] + rng.uniform(15.0, 100.0, size=len(late))])
    c_lapsed = np.concatenate([is_dropout_order[c_orders], np.ones(len(late), dtype=bool)])
    c_outcome = np.array(["resolved", "pending", "escalated"], dtype=object)[
        _row_choice(rng, np.where(c_lapsed[:, None], [[0.35, 0.40, 0.25]], [[0.70, 0.18, 0.12]]))]
    parts.append({"customer": c_who, "time": c_when, "type": np.full(len(c_who), _COMPLAINT),
                  "outcome": c_outcome, "note": _pick_text(rng, NOTES["complaint"]["any"], len(c_who)),
                  "channel": np.array([c[0] for c in COMPLAINT_CHANNELS], dtype=object)[
                      _choice(rng, len(c_who), [c[1] for c in COMPLAINT_CHANNELS])],
                  "rated": rng.random(len(c_who)) < 0.8,
                  "offset": np.where(c_outcome == "resolved", -0.8, -1.6)})

    gives_feedback = np.flatnonzero(rng.random(len(order_time)) < params.feedback_rate * (1 + order_ramp))
    parts.append({"customer": buyer_of[gives_feedback],
                  "time": order_time[gives_feedback] + rng.uniform(2.0, 12.0, size=len(gives_feedback)),
                  "type": np.full(len(gives_feedback), _FEEDBACK),
                  "outcome": np.empty(len(gives_feedback), dtype=object),  # all None: set below from the score
                  "note": np.empty(len(gives_feedback), dtype=object),
                  "channel": np.array([c[0] for c in FEEDBACK_CHANNELS], dtype=object)[
                      _choice(rng, len(gives_feedback), [c[1] for c in FEEDBACK_CHANNELS])],
                  "rated": np.ones(len(gives_feedback), dtype=bool), "offset": np.zeros(len(gives_feedback))})

    # 3. Campaigns: mass campaigns to a share of known customers, win-back campaigns to the dormant.
    # Each customer's orders sit in their own stretch of one sorted key, to find the last order before a day.
    stride = n_days + 1000.0
    customer_base = np.arange(n) * stride
    sorted_keys = np.concatenate([[-np.inf], np.sort(buyer_of * stride + order_time)])
    campaign_parts = []
    for day, name, dormant in campaigns:
        known = signup <= day
        previous = sorted_keys[np.searchsorted(sorted_keys, customer_base + day) - 1]
        last_order_day = np.where(previous >= customer_base, previous - customer_base, -np.inf)
        if dormant:
            target = known & (day - last_order_day > params.dormant_days) & np.isfinite(last_order_day) & (
                rng.random(n) < params.winback_campaign_reach)
        else:
            target = known & (rng.random(n) < params.campaign_reach)
        who = np.flatnonzero(target)
        gone = np.isfinite(dropout[who]) & (day > dropout[who]) & (day < returned[who])
        respond_p = np.where(customers.is_prospect[who], params.campaign_response_lead,
                             np.where(gone, params.campaign_response_lapsed, params.campaign_response))
        responded = rng.random(len(who)) < respond_p
        campaign_parts.append((who, day + rng.uniform(0.0, 3.0, size=len(who)), responded, name))
    # the win-back campaign each returning customer answered, days before coming back
    back = np.flatnonzero(np.isfinite(returned))
    campaign_parts.append((back, returned[back] - rng.uniform(3.0, 20.0, size=len(back)),
                           np.ones(len(back), dtype=bool), "老客户召回礼券"))
    k_who = np.concatenate([p[0] for p in campaign_parts])
    k_when = np.concatenate([p[1] for p in campaign_parts])
    k_resp = np.concatenate([p[2] for p in campaign_parts])
    k_note = np.concatenate([np.full(len(p[0]), p[3], dtype=object) for p in campaign_parts])
    parts.append({"customer": k_who, "time": k_when, "type": np.full(len(k_who), _CAMPAIGN),
                  "outcome": np.where(k_resp, "responded", "no_response").astype(object), "note": k_note,
                  "channel": np.array([c[0] for c in CAMPAIGN_CHANNELS], dtype=object)[
                      _choice(rng, len(k_who), [c[1] for c in CAMPAIGN_CHANNELS])],
                  "rated": np.zeros(len(k_who), dtype=bool), "offset": np.zeros(len(k_who))})

    # Satisfaction: the customer's own level, lowered as dissatisfaction builds up, plus noise.
    base_satisfaction = np.clip(rng.normal(4.15, 0.4, size=n), 2.5, 5.0)
    customer = np.concatenate([p["customer"] for p in parts]).astype(np.int64)
    when = np.concatenate([p["time"] for p in parts])
    kind = np.concatenate([p["type"] for p in parts]).astype(np.int64)
    rated = np.concatenate([p["rated"] for p in parts])
    offset = np.concatenate([p["offset"] for p in parts])
    drop = params.satisfaction_drop * _dissatisfaction(when, dropout[customer], returned[customer], window)
    score = np.clip(np.round(base_satisfaction[customer] - drop + offset + rng.normal(0.0, 0.6, len(when))),
                    1, 5)
    satisfaction = np.where(rated, score, np.nan)
    outcome = np.concatenate([p["outcome"] for p in parts])
    note = np.concatenate([p["note"] for p in parts])
    feedback = kind == _FEEDBACK
    sentiment = np.where(score >= 4, "positive", np.where(score == 3, "neutral", "negative"))
    outcome[feedback] = sentiment[feedback].astype(object)
    for label in ("positive", "neutral", "negative"):
        rows = np.flatnonzero(feedback & (sentiment == label))
        note[rows] = _pick_text(rng, NOTES["feedback"][label], len(rows))
    channel = np.concatenate([p["channel"] for p in parts])
    valid = (when >= signup[customer]) & (when < n_days)
    online = np.isin(channel, ["微信", "在线客服"])  # customers write in the evening; campaigns go out by day
    when = np.floor(when) + _time_of_day(rng, online)
    return {"customer": customer[valid], "time": when[valid], "type": kind[valid], "channel": channel[valid],
            "outcome": outcome[valid], "satisfaction": satisfaction[valid], "note": note[valid]}


# ---------------------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------------------

def _to_datetime(start: date, days: np.ndarray) -> np.ndarray:
    """Days since ``start`` (float) as datetime64[us], whole seconds."""
    seconds = np.round(days * 86400.0).astype(np.int64)
    return np.datetime64(start, "us") + seconds.astype("timedelta64[s]").astype("timedelta64[us]")


def generate(customers: int = 5000, seed: int = 42, start: date = date(2023, 1, 1),
             end: date = date(2025, 12, 31), params: SampleParams = DEFAULT_PARAMS) -> Dataset:
    """A realistic CRM sample: customers, order lines and interactions from ``start`` to ``end`` inclusive.

    Purchases follow BG/NBD (Fader, Hardie & Lee 2005) with a Chinese retail calendar, spend follows
    Gamma–Gamma, baskets carry co-purchase bundles, and interactions turn sour before customers drop out
    (module docstring). The same arguments always give identical frames.

    Parameters
    ----------
    customers : number of customers in the customer table (prospects included).
    seed : seed of ``numpy.random.default_rng``.
    start, end : first and last calendar day of the period.
    params : the knobs of the process (:class:`SampleParams`).
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if end < start:
        raise ValueError("end is before start")
    rng = np.random.default_rng(seed)
    n_days = (end - start).days + 1
    intensity = purchase_intensity(start, n_days)
    people = _draw_customers(rng, customers, start, n_days, intensity, params)
    purchases = _draw_purchases(rng, people, n_days, intensity, params)

    # Orders: channel, time of day, rep, price level; sorted by time so order numbers run through each day.
    buyer = purchases.customer
    n_orders = len(buyer)
    preferred = np.array([ORDER_CHANNELS.index(PREFERRED_ORDER_CHANNEL[c]) for c in ACQUISITION_CHANNELS])
    order_channel = np.where(rng.random(n_orders) < 0.8, preferred[people.channel[buyer]],
                             _choice(rng, n_orders, ORDER_CHANNEL_WEIGHTS))
    online = np.isin(order_channel, [ORDER_CHANNELS.index(c) for c in ONLINE_CHANNELS])
    order_time = purchases.time + _time_of_day(rng, online)
    region_names = list(REGIONS)
    rep_offsets = np.cumsum([0] + [len(SALES_REPS[r]) for r in region_names])
    rep_counts = np.array([len(SALES_REPS[r]) for r in region_names])
    region = people.region[buyer]
    covering_rep = rep_offsets[region] + (rng.random(n_orders) * rep_counts[region]).astype(np.int64)
    sales_rep = np.where(rng.random(n_orders) < 0.92, people.owner[buyer], covering_rep)
    order = np.lexsort((buyer, order_time))
    buyer, order_channel, online, order_time, sales_rep = (
        buyer[order], order_channel[order], online[order], order_time[order], sales_rep[order])
    purchases = _Purchases(buyer, purchases.time[order], purchases.is_winback[order], purchases.rate,
                           purchases.mean_value, purchases.dropout_time, purchases.return_time)
    order_day = np.floor(order_time).astype(np.int64)
    day_sequence = np.arange(n_orders) - _group_starts(order_day) + 1
    calendar_day = np.datetime64(start, "D") + order_day.astype("timedelta64[D]")
    month = calendar_day.astype("datetime64[M]").astype(np.int64) % 12

    line_order, product, quantity = _draw_lines(rng, people, purchases, month, params)
    # Prices: enterprises get a discount by size; online promotions (618, 双11, 双12) take 8 % more off.
    value_rank = np.argsort(np.argsort(purchases.mean_value, kind="stable"), kind="stable") / max(customers, 1)
    customer_discount = np.where(people.is_enterprise, np.select(
        [value_rank < 0.25, value_rank < 0.5, value_rank < 0.75], [0.0, 0.03, 0.05], 0.08), 0.0)
    promotion = _promotion_days(start, n_days)[order_day] & online
    discount = customer_discount[buyer] + 0.08 * promotion
    list_price = np.array([p[2] for p in PRODUCTS])
    unit_price = np.round(list_price[product] * (1.0 - discount[line_order]), 2)
    amount = np.round(quantity * unit_price, 2)

    # Refunds: a negative line against the order's first line, days later; more often on a last order.
    first_line = np.flatnonzero(np.concatenate([[True], line_order[1:] != line_order[:-1]]))
    dropout_order = (order_day == purchases.dropout_time[buyer]) & ~purchases.is_winback
    refund_p = np.where(dropout_order, params.refund_rate_last_order, params.refund_rate)
    refund_line = first_line[rng.random(n_orders) < refund_p]
    refund_time = (np.floor(order_time[line_order[refund_line]] + rng.uniform(2.0, 20.0, len(refund_line)))
                   + _time_of_day(rng, np.zeros(len(refund_line), dtype=bool)))
    refund_line = refund_line[refund_time < n_days]
    refund_time = refund_time[refund_time < n_days]
    full = rng.random(len(refund_line)) < 0.5
    refund_quantity = np.where(full, quantity[refund_line],
                               np.ceil(rng.random(len(refund_line)) * quantity[refund_line]))
    refunded = np.zeros(n_orders)
    refunded[line_order[refund_line]] = 1.0

    all_order = np.concatenate([line_order, line_order[refund_line]])
    all_time = np.concatenate([order_time[line_order], refund_time])
    all_product = np.concatenate([product, product[refund_line]])
    all_quantity = np.concatenate([quantity, -refund_quantity])
    all_price = np.concatenate([unit_price, unit_price[refund_line]])
    all_amount = np.concatenate([amount, np.round(-refund_quantity * unit_price[refund_line], 2)])
    sequence = np.concatenate([np.arange(len(line_order)), len(line_order) + np.arange(len(refund_line))])

    # Customer ids follow signup order, as a CRM numbers new records.
    id_rank = np.argsort(np.argsort(people.signup_day, kind="stable"), kind="stable")
    customer_ids = pl.Series([f"C{i + 1:06d}" for i in range(customers)])
    customer_id_of = customer_ids.gather(id_rank)
    reps = pl.Series([name for r in region_names for name in SALES_REPS[r]])

    order_ids = pl.select(pl.concat_str(
        pl.lit("SO"), pl.Series(calendar_day).dt.strftime("%Y%m%d"),
        pl.Series(day_sequence).cast(pl.String).str.zfill(4))).to_series()
    transactions = pl.DataFrame({
        "customer_id": customer_id_of.gather(buyer[all_order]),
        "order_date": pl.Series(_to_datetime(start, all_time)),
        "amount": all_amount,
        "order_id": order_ids.gather(all_order),
        "product": pl.Series([p[0] for p in PRODUCTS]).gather(all_product),
        "category": pl.Series([p[1] for p in PRODUCTS]).gather(all_product),
        "quantity": all_quantity.astype(float),
        "unit_price": all_price,
        "channel": pl.Series(ORDER_CHANNELS).gather(order_channel[all_order]),
        "region": pl.Series(region_names).gather(people.region[buyer[all_order]]),
        "sales_rep": reps.gather(sales_rep[all_order]),
        "_sequence": sequence,
    }).sort("order_date", "_sequence").drop("_sequence")

    customer_frame = _customer_table(rng, people, start).with_columns(customer_id=customer_id_of)
    customer_frame = customer_frame.select(list(COLUMNS["customers"])).sort("customer_id")

    contacts = _draw_interactions(rng, people, purchases, order_time, refunded, _campaign_calendar(start, n_days),
                                  n_days, params)
    interactions = pl.DataFrame({
        "customer_id": customer_id_of.gather(contacts["customer"]),
        "date": pl.Series(_to_datetime(start, contacts["time"])),
        "type": pl.Series(INTERACTION_TYPES).gather(contacts["type"]),
        "channel": pl.Series(contacts["channel"].tolist(), dtype=pl.String),
        "outcome": pl.Series(contacts["outcome"].tolist(), dtype=pl.String),
        "satisfaction": contacts["satisfaction"],
        "note": pl.Series(contacts["note"].tolist(), dtype=pl.String),
    }).with_columns(pl.col("satisfaction").fill_nan(None)).sort("date", "customer_id", "type")

    return Dataset(
        transactions.cast(pl.Schema(COLUMNS["transactions"])),
        customer_frame.cast(pl.Schema(COLUMNS["customers"])),
        interactions.cast(pl.Schema(COLUMNS["interactions"])),
        name="sample",
    )


# ---------------------------------------------------------------------------------------------------
# The data on a given day, and a campaign with a known effect
# ---------------------------------------------------------------------------------------------------

CALL_LOG_DAYS = 14  # a campaign's calls are made in the first two weeks of its window
CAMPAIGN_CALL_OUTCOMES = (("connected", 0.55), ("no_answer", 0.30), ("follow_up", 0.15))
CAMPAIGN_CALL_NOTES: dict[str, list[str]] = {
    "connected": ["回访老客户，介绍近期优惠", "邀请客户回购，客户表示会考虑", "介绍老客户专享价与新品"],
    "no_answer": NOTES["call"]["no_answer"],
    "follow_up": ["客户需要最新报价单，待跟进", "客户考虑中，下周再联系"],
}
DEFAULT_CAMPAIGN_WINDOW = 90  # days, as the app's campaigns (crm_core.campaigns.model.DEFAULT_WINDOW_DAYS)
DEFAULT_CAMPAIGN_UPLIFT = 0.2
ORDER_ID_PATTERN = r"^SO(\d{8})(\d{4})$"
"""The generator's order ids: ``SO``, the order's date, its number that day (``SO202509010012``)."""


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def cut(dataset: Dataset, until: date) -> Dataset:
    """The data as the CRM would export it on ``until``: transaction lines and interactions strictly
    before that day, and the customers who signed up before it (or have no signup date).

    A refund booked on or after ``until`` against an earlier order is left out too: it has not happened yet.
    """
    day = _midnight(until)
    customers = dataset.customers
    if customers is not None and "signup_date" in customers.columns:
        customers = customers.filter((pl.col("signup_date") < day).fill_null(True))
    interactions = None if dataset.interactions is None else dataset.interactions.filter(pl.col("date") < day)
    return Dataset(dataset.transactions.filter(pl.col("order_date") < day), customers, interactions,
                   name=dataset.name, currency=dataset.currency)


@dataclass(frozen=True)
class CampaignTruth:
    """What a simulated campaign really did (:func:`simulate_campaign`), to check its measurement against.

    ``treated``: distinct treated ids. ``natural``: treated customers who succeeded in the window anyway
    (a purchase order; with a product, a purchase of it). ``eligible``: treated customers who could be
    brought back: a purchase before ``start`` and no natural success. ``brought_back``: those the campaign
    brought back, one added order each (``brought_back_ids``, ``order_ids``). ``realised_effect`` =
    brought_back / treated: the true intention-to-treat difference in success rate between these treated
    customers and an untouched control like them. ``expected_effect`` = uplift × eligible / treated, which is
    uplift × (1 − natural rate among treated) when every treated customer has bought before (a churn call
    list). ``added_revenue``: sum of the added lines (None when the data has no amounts).
    """

    treated: int
    natural: int
    eligible: int
    brought_back: int
    realised_effect: float
    expected_effect: float
    added_revenue: float | None
    brought_back_ids: tuple[str, ...] = field(default=(), repr=False)
    order_ids: tuple[str, ...] = field(default=(), repr=False)


def _usual(lines: pl.DataFrame, column: str) -> pl.DataFrame:
    """Each customer's most frequent ``column`` value on ``lines`` (ties: the smallest value), as ``usual_<column>``."""
    return (lines.group_by("customer_id", column).agg(pl.len().alias("_n"))
            .sort("customer_id", "_n", column, descending=[False, True, False], nulls_last=True)
            .group_by("customer_id", maintain_order=True).agg(pl.col(column).first().alias(f"usual_{column}")))


def _is_sale_line() -> pl.Expr:
    """A line that sells (no negative amount or quantity): the lines a repeat order copies."""
    return ~((pl.col("amount") < 0).fill_null(False) | (pl.col("quantity") < 0).fill_null(False))


def _insert(frame: pl.DataFrame, added: pl.DataFrame, by: str) -> pl.DataFrame:
    """``added`` (same columns) merged into ``frame``: by ``by`` when ``frame`` is sorted by it (rows of equal
    ``by`` keep their order, ``frame``'s first), else appended."""
    merged = pl.concat([frame, added.select(frame.columns).cast(frame.schema)])
    return merged.sort(by, maintain_order=True) if frame[by].is_sorted() else merged


def _new_order_ids(transactions: pl.DataFrame, added_orders: pl.DataFrame) -> pl.Series:
    """Order ids in the generator's format (:data:`ORDER_ID_PATTERN`) for ``added_orders`` (``order_date``,
    sorted): each day's new orders are numbered on from the highest number that day already carries."""
    day = pl.col("order_date").dt.strftime("%Y%m%d")
    taken = (transactions.select(pl.col("order_id").str.extract_groups(ORDER_ID_PATTERN).alias("_id"))
             .unnest("_id").drop_nulls()
             .select(pl.col("1").alias("_day"), pl.col("2").cast(pl.Int64).alias("_taken"))
             .group_by("_day").agg(pl.col("_taken").max()))
    numbered = (added_orders.select("order_date", day.alias("_day")).with_row_index("_row")
                .join(taken, on="_day", how="left").sort("_row")
                .with_columns((pl.col("_taken").fill_null(0) + pl.int_range(1, pl.len() + 1).over("_day"))
                              .alias("_number")))
    return numbered.select(pl.concat_str(pl.lit("SO"), pl.col("_day"), pl.col("_number").cast(pl.String)
                                         .str.zfill(4))).to_series().alias("order_id")


def simulate_campaign(dataset: Dataset, treated: Iterable[str], start: date, window_days: int, uplift: float,
                      seed: int, product: str | None = None, *, log_calls: bool = False,
                      call_days: int = CALL_LOG_DAYS) -> tuple[Dataset, CampaignTruth]:
    """The later data with a campaign's effect, and the truth to measure it against.

    Each treated customer who did not succeed in the window naturally — no purchase order (as
    :func:`crm_core.features.purchases` defines it) dated ``start`` ≤ day < ``start + window_days``; with
    ``product``, no purchase order of that product (cross-sell) — and who bought before ``start`` comes
    back with probability ``uplift``: one new order on a random day of the window, on or after the day
    the customer was called and not after the data's last day (the last transaction's day). Its lines
    are copied from one of the customer's own purchase orders before ``start`` (its selling lines: same
    products, quantities and unit prices), or, with ``product``, one line of that product at the price
    and quantity the customer last paid for it, else the product's median ones. The order gets a new id
    in the data's format (:data:`ORDER_ID_PATTERN`) and the customer's usual channel, region and sales rep
    (most frequent on their lines before ``start``). Everyone else, the control group included, is
    untouched: ``uplift=0`` gives the same frames (the null campaign). With ``log_calls`` each treated
    customer in the data gets a ``call`` interaction (channel 电话) on a day among the first ``call_days``
    of the window, as a CRM's call log; this changes the interactions whatever the uplift.

    Every random draw is made once per treated customer, in id order, from
    ``numpy.random.default_rng(seed)``: the same arguments give the same result, the order of
    ``treated`` does not matter, and with one seed a larger uplift brings back a superset.

    Parameters
    ----------
    dataset : the data after the campaign (for instance :func:`generate` over a period past the window).
    treated : ids of the contacted customers (the campaign's treatment group; the control is not given).
    start, window_days : the window's first day and its length; orders on days start ≤ day < start + window_days.
    uplift : chance that an eligible treated customer is brought back (0 ≤ uplift ≤ 1).
    seed : seed of the campaign's random draws.
    product : cross-sell: the product whose purchase is the success (it must occur in the data).
    log_calls, call_days : log the campaign's calls, made in the first ``call_days`` days of the window.
    """
    if not 0.0 <= uplift <= 1.0:
        raise ValueError("uplift must be between 0 and 1")
    if window_days < 1 or call_days < 1:
        raise ValueError("window_days and call_days must be at least 1")
    transactions = dataset.transactions
    last = cast("datetime | None", transactions["order_date"].max())
    if last is None:
        raise ValueError("no transactions")
    window_start = _midnight(start)
    window_end = min(window_start + timedelta(days=window_days), _midnight(last) + timedelta(days=1))
    open_days = (window_end - window_start).days
    if open_days < 1:
        raise ValueError("the campaign starts after the data's last day")
    if product is not None and not ("product" in transactions.columns
                                    and (transactions["product"] == product).any()):
        raise ValueError(f"product {product!r} is not in the data")
    treated_ids = pl.Series("customer_id", list(treated), dtype=pl.String).drop_nulls().unique().sort()
    if treated_ids.len() == 0:
        raise ValueError("no treated customers")

    # The treated customers the data knows, in id order: one row, and one set of draws, each.
    members = treated_ids.to_frame().join(dataset.selected_customers().to_frame("customer_id"),
                                          on="customer_id", how="semi").sort("customer_id")
    lines_before = (with_order_key(before(transactions, window_start)).with_row_index("_line")
                    .filter(_is_sale_line()).join(members, on="customer_id", how="semi"))
    history = (purchases(transactions, window_start)  # the orders a comeback can copy
               .join(lines_before, on=["customer_id", "order_key"], how="semi")
               .sort("customer_id", "order_date", "order_key")
               .with_columns(pl.int_range(pl.len()).over("customer_id").alias("_rank"),
                             pl.len().over("customer_id").alias("_orders")))
    in_window = purchases(transactions).filter(
        pl.col("order_date").is_between(window_start, window_start + timedelta(days=window_days), closed="left"))
    if product is not None:
        product_keys = (with_order_key(transactions).filter((pl.col("product") == product) & _is_sale_line())
                        .select("customer_id", "order_key"))
        in_window = in_window.join(product_keys, on=["customer_id", "order_key"], how="semi")
    members = members.with_columns(
        pl.col("customer_id").is_in(in_window["customer_id"].implode()).alias("natural"),
        pl.col("customer_id").is_in(history["customer_id"].implode()).alias("bought_before"),
    ).join(history.group_by("customer_id").agg(pl.col("_orders").first()), on="customer_id", how="left")
    for column in ("channel", "region", "sales_rep"):
        if column in lines_before.columns:
            members = members.join(_usual(lines_before, column), on="customer_id", how="left")
    members = members.sort("customer_id")  # joins need not keep the order the draws are made in

    k = members.height
    rng = np.random.default_rng(seed)
    call_offset = rng.integers(0, min(call_days, open_days), size=k)
    call_time = _time_of_day(rng, np.zeros(k, dtype=bool))
    call_outcome = _choice(rng, k, [w for _, w in CAMPAIGN_CALL_OUTCOMES])
    call_note = rng.random(k)
    comes_back = rng.random(k) < uplift
    order_pick = rng.random(k)
    order_offset = call_offset + np.floor(rng.random(k) * (open_days - call_offset)).astype(np.int64)
    online = (members["usual_channel"].is_in(list(ONLINE_CHANNELS)).fill_null(False).to_numpy()
              if "usual_channel" in members.columns else np.zeros(k, dtype=bool))
    order_time = _time_of_day(rng, online)

    eligible = members["bought_before"].to_numpy() & ~members["natural"].to_numpy()
    back = eligible & comes_back
    call_outcome = np.where(back, 0, call_outcome)  # the customers who came back were reached
    added_orders = members.with_columns(
        order_date=pl.Series(_to_datetime(window_start, order_offset + order_time)),
        _pick=pl.Series(np.floor(order_pick * members["_orders"].fill_null(1).to_numpy()).astype(np.int64)),
    ).filter(pl.Series(back)).sort("order_date", "customer_id")
    if "order_id" in transactions.columns:
        added_orders = added_orders.with_columns(_new_order_ids(transactions, added_orders))
    else:
        added_orders = added_orders.with_columns(pl.lit(None, dtype=pl.String).alias("order_id"))
    added_orders = added_orders.with_row_index("_order")

    order_columns = ["customer_id", "order_date", "order_id", "_order"]
    if product is None:
        chosen = history.join(added_orders.select("customer_id", pl.col("_pick").alias("_rank")),
                              on=["customer_id", "_rank"]).select("customer_id", "order_key")
        copied = (lines_before.join(chosen, on=["customer_id", "order_key"], how="semi")
                  .drop("order_date", "order_id", "order_key"))
        added = copied.join(added_orders.select(*order_columns, pl.col("^usual_.*$")), on="customer_id")
    else:
        product_lines = transactions.filter((pl.col("product") == product) & _is_sale_line())
        sold = product_lines.filter(pl.col("order_date") < window_start)
        reference = sold if sold.height else product_lines
        own = sold.sort("order_date").group_by("customer_id").agg(
            pl.col("quantity").last().alias("_quantity"), pl.col("unit_price").last().alias("_price"))
        typical_quantity = max(1.0, float(np.round(cast(float, reference["quantity"].median()))))
        typical_price = round(cast(float, reference["unit_price"].median()), 2)
        category = (reference["category"].drop_nulls().mode().sort().first()
                    if "category" in reference.columns else None)
        added = (added_orders.select(*order_columns, pl.col("^usual_.*$"))
                 .join(own, on="customer_id", how="left")
                 .with_columns(pl.lit(product, dtype=pl.String).alias("product"),
                               pl.lit(category, dtype=pl.String).alias("category"),
                               pl.col("_quantity").fill_null(typical_quantity).alias("quantity"),
                               pl.col("_price").fill_null(typical_price).alias("unit_price"),
                               pl.lit(0, dtype=pl.UInt32).alias("_line"))
                 .with_columns((pl.col("quantity") * pl.col("unit_price")).round(2).alias("amount")))
    for column in ("channel", "region", "sales_rep"):
        if f"usual_{column}" in added.columns:
            usual = pl.col(f"usual_{column}")
            added = added.with_columns((pl.coalesce(usual, column) if column in added.columns else usual)
                                       .alias(column))
    added = added.sort("_order", "_line")
    for column, dtype in transactions.schema.items():
        if column not in added.columns:
            added = added.with_columns(pl.lit(None, dtype=dtype).alias(column))
    added = added.select(transactions.columns)

    interactions = dataset.interactions
    if log_calls:
        outcome = np.array([o for o, _ in CAMPAIGN_CALL_OUTCOMES], dtype=object)[call_outcome]
        note = np.empty(k, dtype=object)
        for label, options in CAMPAIGN_CALL_NOTES.items():
            rows = outcome == label
            note[rows] = np.array(options, dtype=object)[(call_note[rows] * len(options)).astype(np.int64)]
        calls = pl.DataFrame({
            "customer_id": members["customer_id"],
            "date": pl.Series(_to_datetime(window_start, call_offset + call_time)),
            "type": pl.Series(["call"] * k, dtype=pl.String),
            "channel": pl.Series([SERVICE_CHANNELS["call"]] * k, dtype=pl.String),
            "outcome": pl.Series(outcome.tolist(), dtype=pl.String),
            "satisfaction": pl.Series([None] * k, dtype=pl.Float64),
            "note": pl.Series(note.tolist(), dtype=pl.String),
        }).sort("date", "customer_id")
        if interactions is None:
            interactions = calls.cast(pl.Schema(COLUMNS["interactions"]))
        else:
            for column, dtype in interactions.schema.items():
                if column not in calls.columns:
                    calls = calls.with_columns(pl.lit(None, dtype=dtype).alias(column))
            interactions = _insert(interactions, calls, "date")

    brought_back = added_orders.height
    truth = CampaignTruth(
        treated=treated_ids.len(),
        natural=int(members["natural"].sum()),
        eligible=int(eligible.sum()),
        brought_back=brought_back,
        realised_effect=brought_back / treated_ids.len(),
        expected_effect=uplift * int(eligible.sum()) / treated_ids.len(),
        added_revenue=(float(added["amount"].sum()) if "amount" in added.columns and has_amounts(transactions)
                       else None),
        brought_back_ids=tuple(added_orders.sort("customer_id")["customer_id"].to_list()),
        order_ids=tuple(added_orders["order_id"].drop_nulls().to_list()),
    )
    if brought_back == 0 and interactions is dataset.interactions:
        return dataset, truth
    result = Dataset(_insert(transactions, added, "order_date") if brought_back else transactions,
                     dataset.customers, interactions, name=dataset.name, currency=dataset.currency)
    return result, truth


def write_csv(dataset: Dataset, out_dir: Path | str) -> dict[str, Path]:
    """Write the three tables as UTF-8 CSV (``transactions.csv``, ``customers.csv``, ``interactions.csv``).

    Dates are ISO (``2024-01-05 14:23:00``; ``signup_date`` and ``birthday`` as ``2024-01-05``), money has
    two decimals, quantities and satisfaction scores are whole numbers. Returns the paths written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {
        "transactions": dataset.transactions.with_columns(pl.col("quantity").round(0).cast(pl.Int64)),
        "customers": None if dataset.customers is None else dataset.customers.with_columns(
            pl.col("signup_date", "birthday").cast(pl.Date)),
        "interactions": None if dataset.interactions is None else dataset.interactions.with_columns(
            pl.col("satisfaction").round(0).cast(pl.Int64)),
    }
    written = {}
    for kind, frame in frames.items():
        if frame is None:
            continue
        path = out_dir / SAMPLE_FILES[kind]
        frame.write_csv(path, datetime_format=DATETIME_FORMAT, date_format=DATE_FORMAT, float_precision=2)
        written[kind] = path
    return written


CLI_EPILOG = """\
the data as a CRM exports it on one day (lines and interactions before it, customers signed up before it):
  python -m crm_core.sample --until 2025-09-01 --out before_campaign

a campaign with a known effect, from the contact list downloaded from the app (CSV or Excel; the
customer id column under any header the loader knows, e.g. 客户编号 or Customer ID):
  python -m crm_core.sample --campaign-contacts contacts.csv --campaign-start 2025-09-01 \\
      [--campaign-window 90] [--campaign-uplift 0.2] [--campaign-product P] [--campaign-seed N] \\
      [--campaign-calls] --out after_campaign
  use the same --customers/--seed/--start/--end as for the data the campaign was made on; --campaign-uplift 0
  gives the null campaign (the data unchanged). The truth is printed: treated, brought back, realised effect.
"""


def _read_contacts(path: Path) -> list[str]:
    """The customer ids of a contact list, read by the project's loader (headers such as 客户编号 map to
    ``customer_id``; UTF-8 with BOM, GB18030, Excel)."""
    from crm_core.io import read_table

    return read_table(path, kind="customers").df["customer_id"].drop_nulls().unique().sort().to_list()


def main(argv: list[str] | None = None) -> int:
    """``python -m crm_core.sample --customers 5000 --seed 42 --out sample_data`` (``--help`` for the rest)."""
    parser = argparse.ArgumentParser(prog="python -m crm_core.sample", description=__doc__.splitlines()[0],
                                     epilog=CLI_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=5000, help="customers, prospects included (5000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 1, 1), help="first day (2023-01-01)")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 12, 31), help="last day (2025-12-31)")
    parser.add_argument("--out", type=Path, default=Path("sample_data"), help="output directory (sample_data)")
    parser.add_argument("--until", type=date.fromisoformat, metavar="DATE",
                        help="write the data as exported on DATE: everything strictly before it (default: all)")
    campaign = parser.add_argument_group("campaign", "simulate a campaign on the contacted customers (treatment)")
    campaign.add_argument("--campaign-contacts", type=Path, metavar="FILE",
                          help="the contact list downloaded from the app (CSV or Excel)")
    campaign.add_argument("--campaign-start", type=date.fromisoformat, metavar="DATE",
                          help="first day of the campaign window (required with --campaign-contacts)")
    campaign.add_argument("--campaign-window", type=int, metavar="DAYS", help="window length in days (90)")
    campaign.add_argument("--campaign-uplift", type=float, metavar="U",
                          help="chance that a contacted customer who would not have ordered does (0.2)")
    campaign.add_argument("--campaign-product", metavar="P", help="cross-sell: the product the campaign sells")
    campaign.add_argument("--campaign-seed", type=int, metavar="N", help="seed of the campaign's draws (--seed)")
    campaign.add_argument("--campaign-calls", action="store_true",
                          help="log a call interaction for each contacted customer in the first two weeks")
    args = parser.parse_args(argv)
    campaign_options = [args.campaign_start, args.campaign_window, args.campaign_uplift, args.campaign_product,
                        args.campaign_seed, args.campaign_calls or None]
    if args.campaign_contacts is None and any(option is not None for option in campaign_options):
        parser.error("the --campaign-* options need --campaign-contacts")
    if args.campaign_contacts is not None and args.campaign_start is None:
        parser.error("--campaign-contacts needs --campaign-start")

    dataset = generate(args.customers, args.seed, args.start, args.end)
    if args.campaign_contacts is not None:
        from crm_core.io import DataError

        try:
            contacts = _read_contacts(args.campaign_contacts)
        except DataError as error:
            parser.error(f"cannot read {args.campaign_contacts}: {error}")
        window = DEFAULT_CAMPAIGN_WINDOW if args.campaign_window is None else args.campaign_window
        uplift = DEFAULT_CAMPAIGN_UPLIFT if args.campaign_uplift is None else args.campaign_uplift
        try:
            dataset, truth = simulate_campaign(
                dataset, contacts, args.campaign_start, window, uplift,
                args.seed if args.campaign_seed is None else args.campaign_seed, args.campaign_product,
                log_calls=args.campaign_calls)
        except ValueError as error:
            parser.error(str(error))
        unknown = len(contacts) - truth.natural - truth.eligible
        print(f"campaign from {args.campaign_start} for {window} days, uplift {uplift:g}: {truth.treated} treated, "
              f"{truth.natural} ordered anyway, {truth.brought_back} brought back of {truth.eligible} eligible; "
              f"realised effect {truth.realised_effect:.2%} (expected {truth.expected_effect:.2%}), "
              f"added revenue {truth.added_revenue or 0.0:,.2f}"
              + (f"; {unknown} contacts without a purchase before the start" if unknown else ""))
    if args.until is not None:
        dataset = cut(dataset, args.until)
    customers, interactions = dataset.customers, dataset.interactions
    assert customers is not None and interactions is not None, "generate() makes all three tables"
    paths = write_csv(dataset, args.out)
    print(f"{customers.height} customers, {dataset.transactions.height} transaction lines, "
          f"{interactions.height} interactions written to {', '.join(str(p) for p in paths.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
