"""Stored wrappers, one-to-one with the view-model functions of :mod:`crm_core.views` (see ``ui.cache``):
computed once per dataset and parameters, and kept beside a saved dataset."""
