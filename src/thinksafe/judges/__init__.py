"""Judges: each reads one channel (answer or reasoning) of a completion and returns a verdict.

Built-in judges are registered by name in :data:`thinksafe.registry.judges` and imported only
when used: ``rules`` (offline refusal detector), ``safety:TARGET`` (rubric read by any model)
and ``scripted`` (a fake for tests and docs). Shared pieces live in
:mod:`thinksafe.judges.base`; rubric templates in ``judges/rubrics/``.
"""
