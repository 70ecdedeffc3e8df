"""Cross-sell: association rules, product affinity, "also bought", next-best offers and "bought X, not Y" lists.

Every number comes from ``crm_core.views.cross_sell`` (over ``crm_core.cross_sell``) on ``ctx.dataset`` (the
sidebar's filters and date range) with ``as_of=ctx.as_of``: only lines before the analysis date count.
Baskets are orders or customers' whole histories; items are products or categories (the switches at the top
decide for every tab but Recommendations, whose basket and method the out-of-time check of its model card
decides). The results are drawn by ``ui.sections.cross_sell``.
"""
import streamlit as st

from crm_core.views import cross_sell as xs
from ui import base, campaigns, shell, widgets
from ui.i18n import format_date, format_number, format_percent
from ui.sections import cross_sell as draw
from ui.state import lang, t
from ui.text import t_plain
from ui.views import cross_sell as views

ctx = shell.context()
language = lang()


def number(value) -> str:
    return format_number(value, language)


def slider(label: str, control: xs.Control, key: str, **options):
    """A slider over ``control``'s range, starting at its default."""
    return widgets.slider(label, control.low, control.high, key, control.default, step=control.step, **options)


st.title(t("cross_sell.page.title"))
notices = st.container()  # link notices of this page's controls (they are claimed further down)
shell.require_orders(ctx)
base.caption(ctx)

setup = views.basket_setup(ctx.dataset)
if not setup.levels:
    st.info(t("cross_sell.page.no_items"), icon=":material/inventory_2:")
    with notices:
        shell.show_notices()
    st.stop()

top_left, top_mid, top_right = st.columns([2, 3, 3])
level = widgets.radio(t("cross_sell.page.level_label"), setup.levels, "xs_level", default=setup.levels[0],
                      container=top_left, format_func=lambda v: t(f"cross_sell.level.{v}"),
                      help=t("cross_sell.page.level_help"))
by = widgets.radio(t("cross_sell.page.by_label"), list(xs.BASKETS_BY), "xs_by", default="order", container=top_mid,
                   format_func=lambda v: t(f"cross_sell.by.{v}"), help=t("cross_sell.page.by_help"))
level_name = t(f"cross_sell.level.{level}")          # a header: "Product"
level_word = t(f"cross_sell.level_word.{level}")     # inside a sentence: "product"
notes = [t(f"cross_sell.page.basket_note.{by}")]
if by == "order" and not setup.has_order_id:
    notes.append(t("cross_sell.page.no_order_id"))
notes += [t("cross_sell.page.missing_level", level=t(f"cross_sell.level_word.{missing}"))
          for missing in setup.missing_levels]
top_right.caption(" ".join(notes))

overview = views.basket_overview(ctx.dataset, ctx.as_of, level, by)
if overview.baskets == 0:
    st.info(t("cross_sell.page.no_baskets", level=level_word, as_of=format_date(ctx.as_of, language)),
            icon=":material/shopping_cart_off:")
    with notices:
        shell.show_notices()
    st.stop()

metrics_box = st.container()  # headline numbers, filled once the rule thresholds are known
tabs = widgets.tabs("xs_tab", ["rules", "affinity", "also", "offers", "targets"],
                    lambda name: t(f"cross_sell.page.tab.{name}"))

# ---------------------------------------------------------------- rules
with tabs["rules"]:
    a, b, c, d = st.columns([3, 3, 3, 2])
    support_pct = slider(t("cross_sell.page.support_label"), xs.SUPPORT_PCT, "xs_support", format="%.1f%%",
                         container=a, help=t("cross_sell.metric_help.min_support"))
    confidence_pct = slider(t("cross_sell.page.confidence_label"), xs.CONFIDENCE_PCT, "xs_confidence", format="%d%%",
                            container=b, help=t("cross_sell.metric_help.min_confidence"))
    min_lift = slider(t("cross_sell.page.lift_label"), xs.LIFT, "xs_lift", format="%.1f", container=c,
                      help=t("cross_sell.metric_help.min_lift"))
    max_len = widgets.selectbox(t("cross_sell.page.max_len_label"), list(xs.MAX_LEN), "xs_maxlen",
                                default=xs.MAX_LEN[-1], container=d, help=t("cross_sell.metric_help.max_len"))
    thresholds = (support_pct, max_len, confidence_pct, min_lift)
    query = widgets.text_input(t("cross_sell.page.search_label"), "xs_search",
                               placeholder=t("cross_sell.page.search_placeholder"),
                               help=t("cross_sell.page.search_help", level=level_word))
    rules = views.rules(ctx.dataset, ctx.as_of, level, by, *thresholds, query, t("cross_sell.page.list_sep"))
    if rules.count == 0:
        st.info(t("cross_sell.page.no_rules", baskets=number(overview.baskets)), icon=":material/tune:")
    elif rules.found == 0:
        st.info(t_plain("cross_sell.page.no_match", query=rules.query, rules=number(rules.count)),
                icon=":material/search_off:")
    else:
        draw.rules_table(rules, overview.baskets, level, by)

with metrics_box:
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(t("cross_sell.page.metric_baskets"), number(overview.baskets), border=True,
              help=t(f"cross_sell.page.metric_baskets_help.{by}", as_of=format_date(ctx.as_of, language)))
    m2.metric(t("cross_sell.page.metric_multi"), format_percent(overview.multi_share, language), border=True,
              help=t("cross_sell.page.metric_multi_help", baskets=number(overview.multi)))
    m3.metric(t(f"cross_sell.page.metric_items.{level}"), number(overview.n_items), border=True)
    m4.metric(t("cross_sell.page.metric_rules"), number(rules.count), border=True,
              help=t("cross_sell.page.metric_rules_help"))

# ---------------------------------------------------------------- affinity
with tabs["affinity"]:
    if not overview.has_pairs:
        st.info(t("cross_sell.page.one_item", level=level_word))
    else:
        top = overview.affinity_top
        n_top = overview.n_items if top is None else slider(t("cross_sell.page.top_label"), top, "xs_top",
                                                            help=t("cross_sell.page.top_help"))
        draw.affinity_map(views.affinity_map(ctx.dataset, ctx.as_of, level, by, n_top), level_word, by)

# ---------------------------------------------------------------- customers who buy this also buy
with tabs["also"]:
    left, right = st.columns([3, 1])
    item = widgets.selectbox(t("cross_sell.page.item_label", level=level_name), overview.items, "xs_item",
                             container=left, help=t("cross_sell.page.item_help"))
    top_n = slider(t("cross_sell.page.also_n_label"), xs.ALSO_TOP, "xs_n", container=right)
    draw.also_bought(views.also_bought(ctx.dataset, ctx.as_of, level, by, item, top_n), level_name, by)

# ---------------------------------------------------------------- recommendations
with tabs["offers"]:
    card = views.recommender_card(ctx.dataset, ctx.as_of, level)   # the out-of-time check decides the method
    draw.recommender_verdict(card)
    draw.recommender_card(card)
    a, b, c = st.columns([1, 2, 1])
    scope = widgets.radio(t("cross_sell.page.scope_label"), ["customer", "segment"], "xs_scope", container=a,
                          format_func=lambda v: t(f"cross_sell.page.scope.{v}"))
    k = slider(t("cross_sell.page.k_label"), xs.OFFERS_PER_CUSTOMER, "xs_k", container=c,
               help=t("cross_sell.page.k_help"))
    if scope == "customer":
        choices = views.customer_choices(ctx.dataset, ctx.as_of)
        if not choices.typed:
            target = widgets.selectbox(t("cross_sell.page.customer_label"), choices.ids, "xs_customer", container=b,
                                       format_func=lambda c_: f"{c_} · {choices.names[c_]}" if c_ in choices.names
                                       else c_, help=t("cross_sell.page.customer_help"))
        else:
            target = widgets.text_input(t("cross_sell.page.customer_label"), "xs_customer", choices.ids[0],
                                        container=b, help=t("cross_sell.page.customer_typed_help")
                                        ).strip() or choices.ids[0]
    else:
        sizes = dict(views.segment_choices(ctx.dataset, ctx.as_of))
        target = widgets.selectbox(t("cross_sell.page.segment_label"), list(sizes), "xs_segment", container=b,
                                   format_func=lambda s: t("cross_sell.page.segment_option",
                                                           segment=t(f"segmentation.segment.{s}"),
                                                           customers=number(sizes[s])),
                                   help=t("cross_sell.page.segment_help"))
    found = views.offers(ctx.dataset, ctx.as_of, scope, target, k, level, card.method, card.by)
    st.caption(t(f"cross_sell.page.offers_caption.{found.method}", level=t(f"cross_sell.level_plural.{level}"),
                 basket=t(f"cross_sell.page.basket_for.{found.by}")))
    if scope == "customer" and found.history:
        had = t("cross_sell.page.list_sep").join(found.history)
        st.caption(t_plain("cross_sell.page.already", customer=target, items=had))
    elif scope == "customer":
        st.caption(t_plain("cross_sell.page.no_history", customer=target, as_of=format_date(ctx.as_of, language)))
    else:
        st.caption(t("cross_sell.page.segment_caption", customers=number(found.customers),
                     segment=t(f"segmentation.segment.{target}"), as_of=format_date(ctx.as_of, language)))
        if found.capped:
            st.warning(t("cross_sell.page.segment_capped", cap=number(found.cap), customers=number(found.asked)),
                       icon=":material/content_cut:")
    if found.count == 0:
        st.info(t("cross_sell.page.no_offers"))
    else:
        draw.offers(found, level_name, ctx.currency)

# ---------------------------------------------------------------- target list
with tabs["targets"]:
    st.caption(t("cross_sell.page.targets_intro", level=level_word))
    left, right = st.columns(2)
    wanted = widgets.multiselect(t("cross_sell.page.bought_label"), overview.items, "xs_bought", container=left,
                                 placeholder=t("cross_sell.page.bought_placeholder"),
                                 help=t("cross_sell.page.bought_help"))
    excluded = widgets.multiselect(t("cross_sell.page.not_label"), overview.items, "xs_not", container=right,
                                   placeholder=t("cross_sell.page.not_placeholder"), help=t("cross_sell.page.not_help"))
    if not wanted:
        st.info(t("cross_sell.page.targets_pick"), icon=":material/checklist:")
        if rules.strongest is not None:
            pair = rules.strongest
            st.caption(t_plain("cross_sell.page.targets_tip", a=pair.antecedent, b=pair.consequent,
                               lift=f"{pair.lift:.1f}", confidence=format_percent(pair.confidence, language)))
    else:
        listed = views.targets(ctx.dataset, ctx.as_of, level, tuple(wanted), tuple(excluded))
        if listed.customers == 0:
            st.info(t("cross_sell.page.targets_none"), icon=":material/person_off:")
        else:
            draw.target_list(listed, level, ctx.currency)
            campaigns.create_button(listed.members(), source="target_list",
                                    detail=" + ".join(wanted) + " → " + " / ".join(excluded) if excluded
                                    else " + ".join(wanted),
                                    goal="cross_sell", product=excluded[0] if level == "product" and excluded else None,
                                    key="xs_targets_campaign", as_of=ctx.as_of)

with notices:
    shell.show_notices()
