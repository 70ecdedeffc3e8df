"""Data: upload CRM exports, check the column mapping and the load report, use, save and share."""
from datetime import datetime
from math import ceil

import streamlit as st

from crm_core import store
from crm_core.dataset import Dataset
from crm_core.schema import KINDS
from ui import data, owners, shell
from ui.i18n import format_date, format_number
from ui.state import lang, t
from ui.text import plain, t_plain
from ui.upload import currency_in_use, upload_section, uploader_in_language

shell.context()  # run inside app.py's frame (see shell.context)

language = lang()
st.title(t("data.title"))
flash = st.session_state.pop("_data_flash", None)
if flash:
    st.success(t_plain(flash[0], **flash[1]), icon=":material/check_circle:")
st.caption(t_plain("data.current", name=data.label(),
                   lines=format_number(data.current().transactions.height, language)))
currency_in_use()

tabs = st.tabs([t("data.tab.upload"), t("data.tab.saved")])
with tabs[0]:
    uploader_in_language()
    results = {kind: upload_section(kind) for kind in KINDS}
    transactions = results["transactions"]
    if transactions is None:
        st.info(t("data.need_transactions"), icon=":material/info:")
    elif transactions.df.height == 0:
        st.error(t("data.no_rows_kept"), icon=":material/error:")
    elif st.button(t("data.use"), type="primary", icon=":material/check:", key="use_data"):
        customers = results["customers"].df if results["customers"] is not None else None
        interactions = results["interactions"].df if results["interactions"] is not None else None
        names = [r.report.source_name for r in results.values() if r is not None]
        data.use_upload(Dataset(transactions.df, customers, interactions, name=names[0],
                                currency=st.session_state.get("_upload_currency")), " + ".join(names))
        st.session_state["_upload_reports"] = {k: r.report.to_dict() for k, r in results.items() if r is not None}
        st.session_state["_data_flash"] = ("data.used", {"name": data.label()})
        st.rerun()

    st.divider()
    st.subheader(t("data.save.title"))
    if st.session_state.get("dataset_id"):
        st.success(t_plain("data.save.already", name=data.label()), icon=":material/cloud_done:")
    elif st.session_state.get("dataset") is None:
        st.caption(t("data.save.sample"))
    else:
        with st.form("save_form"):
            name = st.text_input(t("data.save.name"), value=data.label(), max_chars=120)
            if st.form_submit_button(t("data.save.button"), icon=":material/share:"):
                try:
                    dataset_id = data.save_current(name.strip() or data.label(), datetime.now(),
                                                   extra={"reports": st.session_state.get("_upload_reports", {})})
                    st.session_state["_data_flash"] = ("data.save.done", {"name": name})
                    st.rerun()
                except OSError as error:
                    st.error(t("data.save.failed", reason=str(error.strerror or error)))

with tabs[1]:
    owner = owners.current()
    saved = data.list_saved(datetime.now())
    st.caption(t("data.saved.all_admin") if owner.admin else t("data.saved.only_yours"))
    if not saved:
        st.caption(t("data.saved.none"))
    if st.session_state.get("dataset") is not None and st.button(t("data.saved.back_to_sample"), key="back_to_sample"):
        data.use_sample()
        st.session_state["_data_flash"] = ("data.used", {"name": t("app.dataset.sample")})
        st.rerun()
    for info in saved:
        with st.container(border=True):
            current = st.session_state.get("dataset_id") == info.dataset_id
            in_use = "  ·  " + t("data.saved.in_use") if current else ""
            st.markdown(f"**{plain(info.name or info.dataset_id)}**" + in_use)
            created = datetime.fromisoformat(info.created) if info.created else None
            st.caption(t("data.saved.meta", created=format_date(created, language) if created else "–",
                         lines=format_number(info.rows.get("transactions", 0), language), id=info.dataset_id))
            if owner.admin:
                st.caption(t_plain("data.saved.owner", name=data.owner_label(info, owner)))
            open_col, rename_col, delete_col = st.columns([1, 2, 1])
            if open_col.button(t("data.saved.open"), key=f"open_{info.dataset_id}", disabled=current):
                try:
                    data.open_saved(info.dataset_id)
                    st.session_state["_data_flash"] = ("data.used", {"name": info.name})
                except store.StoreError as error:
                    st.session_state["_data_flash"] = (error.key, error.params)
                st.rerun()
            with rename_col.popover(t("data.saved.rename"), icon=":material/edit:"):
                new_name = st.text_input(t("data.save.name"), value=info.name, key=f"name_{info.dataset_id}")
                if st.button(t("data.saved.rename_confirm"), key=f"rename_{info.dataset_id}"):
                    try:
                        data.rename_saved(info.dataset_id, new_name.strip() or info.name)
                    except store.StoreError as error:
                        st.session_state["_data_flash"] = (error.key, error.params)
                    st.rerun()
            with delete_col.popover(t("data.saved.delete"), icon=":material/delete:"):
                st.caption(t("data.saved.delete_warning"))
                if st.button(t("data.saved.delete_confirm"), key=f"delete_{info.dataset_id}", type="primary"):
                    try:
                        data.delete_saved(info.dataset_id)
                    except store.StoreError as error:
                        st.session_state["_data_flash"] = (error.key, error.params)
                    st.rerun()
    if owners.admin_configured():
        with st.expander(t("data.admin.title"), icon=":material/admin_panel_settings:", expanded=False):
            if owner.admin:
                st.caption(t("data.admin.signed_in"))
                if st.button(t("data.admin.sign_out"), key="admin_sign_out"):
                    owners.sign_out_admin()
                    st.rerun()
            else:
                with st.form("admin_sign_in"):
                    given = st.text_input(t("data.admin.password"), type="password")
                    if st.form_submit_button(t("data.admin.enter")):
                        status, waiting = owners.sign_in_admin(given, shell.client())
                        if status == "ok":
                            st.rerun()
                        wait = t("app.access.wait", seconds=ceil(waiting)) if waiting else ""
                        st.error(wait if status == "wait" else (t("data.admin.wrong") + " " + wait).strip())
