"""Streamlit drawing of self-contained page sections (no analytics: the numbers come from crm_core.views)."""
