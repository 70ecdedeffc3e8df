"""Stored wrapper of :mod:`crm_core.views.campaigns`: a campaign measured on a dataset, in memory only (its
contacts change as they are marked, so their content is part of the key)."""
from crm_core.views import campaigns as core
from ui import campaigns
from ui.cache import stored


def campaign_view(dataset, campaign, cost):
    contacts = campaigns.store().contacts(campaign.id)
    version = f"{contacts.height}:{contacts.hash_rows().sum()}" if contacts.height else "0"
    return _view(dataset, campaign, cost, version)


@stored(keep=False)
def _view(dataset, campaign, cost, version):
    store = campaigns.store()
    return core.campaign_view(dataset, campaign, store.groups(campaign.id), store.contacts(campaign.id), cost)
