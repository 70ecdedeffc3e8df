"""The app as an ASGI application: ``streamlit run serve.py`` serves ``app.py`` with the download gate.

Streamlit hands every download button's file out at ``/media/<id>`` to whoever has the address.
:class:`ui.access.MediaGate` stands in front of that route: when ``CRM_PASSWORD`` is set, a request
without a valid sign-in cookie gets 403. ``streamlit run app.py`` still works on a laptop without a
password, where there is nothing to gate.

The pages' heavy imports happen here, at start (:mod:`ui.preload`), not in the first visitor's run.
"""
import streamlit as st
from starlette.middleware import Middleware

import ui.preload  # noqa: F401
from ui.access import MediaGate

app = st.App("app.py", middleware=[Middleware(MediaGate)])
