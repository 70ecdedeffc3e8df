"""Cached wrappers, one-to-one with the view-model functions of :mod:`crm_core.views` (see ``ui.cache``)."""
