"""Suites: one module per benchmark, registered by name in ``thinksafe.registry.suites``.

``base`` holds what they share (the harm-area taxonomy, ``SuiteInfo``); ``builtin/`` holds data
written for this project.
"""
