"""The streamlit side: state and share links, cached wrappers, translations, widgets, downloads."""
