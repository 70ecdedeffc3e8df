"""Everything the pages import, imported once when the server starts (``serve.py``).

Without it the first visitor of a fresh server waits about two seconds for scikit-learn, plotly and the
page modules to load inside their page's run.
"""
import crm_core.charts  # noqa: F401
import crm_core.churn  # noqa: F401
import crm_core.clv  # noqa: F401
import crm_core.cross_sell  # noqa: F401
import ui.sections.campaigns  # noqa: F401 (SQLAlchemy, Alembic, scipy's bootstrap)
import ui.sections.churn  # noqa: F401
import ui.sections.cross_sell  # noqa: F401
import ui.sections.customers  # noqa: F401
import ui.sections.lifecycle  # noqa: F401
import ui.sections.segments  # noqa: F401
import ui.views.campaigns  # noqa: F401
import ui.views.churn  # noqa: F401
import ui.views.cross_sell  # noqa: F401
import ui.views.customer_360  # noqa: F401
import ui.views.customers  # noqa: F401
import ui.views.lifecycle  # noqa: F401
import ui.views.overview  # noqa: F401
import ui.views.segments  # noqa: F401
