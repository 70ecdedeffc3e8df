"""Campaigns with a held-out control group, and what they changed (DESIGN.md, "App state").

- :mod:`~crm_core.campaigns.model`: what a campaign is (:class:`Campaign`), its goals and groups;
- :mod:`~crm_core.campaigns.design`: the seeded, stratified split into treatment and control;
- :mod:`~crm_core.campaigns.measure`: outcomes from later data, treatment against control, the verdict;
- :mod:`~crm_core.campaigns.store`: campaigns, members and contacts in a SQL database (SQLAlchemy,
  Alembic migrations): SQLite under ``CRM_DATA_DIR`` by default, PostgreSQL by URL.
"""
