"""Shared fixtures: a private data directory per test and clean Streamlit caches."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    directory = tmp_path / "data"
    monkeypatch.setenv("CRM_DATA_DIR", str(directory))
    monkeypatch.delenv("CRM_PASSWORD", raising=False)
    monkeypatch.setenv("CRM_PREPARE", "0")  # no background analyses a test did not ask for
    monkeypatch.setenv("CRM_PAGE_WAIT", "600")  # a page waits for its analyses: one AppTest run draws it all
    return directory
