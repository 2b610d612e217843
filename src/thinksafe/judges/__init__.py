"""Judges: each reads one channel (answer or reasoning) of a completion and returns a verdict.

Built-in judges are registered by name in :data:`thinksafe.registry.judges` and imported only
when used: ``rules`` (offline refusal detector), ``offline`` (trained classifier), model judges
(rubric judges such as ``safety:TARGET`` and guard models, all one
:class:`~thinksafe.judges.model_judge.ModelJudge`), ensembles and ``scripted`` (a fake for
tests and docs). Rubric templates live in ``judges/rubrics/``.
"""
