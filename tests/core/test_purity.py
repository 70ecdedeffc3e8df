"""The core is pure: importing every module of crm_core loads no Streamlit, and no page imports polars."""
import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import crm_core

ROOT = Path(__file__).resolve().parents[2]


def test_importing_all_of_crm_core_loads_no_streamlit():
    names = sorted(m.name for m in pkgutil.walk_packages(crm_core.__path__, "crm_core."))
    assert "crm_core.io.read" in names and "crm_core.views.overview" in names
    script = ("import importlib, sys\n"
              f"for name in {names!r}:\n    importlib.import_module(name)\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_no_core_module_names_streamlit_and_no_page_names_polars():
    core = [p for p in (ROOT / "crm_core").rglob("*.py") if "streamlit" in _imports(p)]
    pages = [p for p in (ROOT / "pages").glob("*.py") if "polars" in _imports(p)]
    assert core == [] and pages == [], (core, pages)
