"""Pure analytics for existing-customer (存量客户) management. No streamlit imports here."""
