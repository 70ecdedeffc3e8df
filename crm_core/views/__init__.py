"""View-models: what each page draws, computed from a dataset as pure functions.

One module per page. Each function takes a :class:`~crm_core.dataset.Dataset` first (so the UI can cache
it by the dataset's fingerprint) and plain, hashable parameters, and returns a polars frame or a frozen
dataclass ready to draw: no Streamlit, no translations (texts travel as translation keys and parameters).
"""
