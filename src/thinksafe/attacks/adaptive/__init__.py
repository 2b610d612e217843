"""Adaptive attacks: PAIR, TAP and Crescendo.

An adaptive attack makes no attempt up front. After a run's static attempts it searches each
sample: an attacker model (any target) writes the next attempt from the target's last reply
and a judge's verdict on it (any registered judge), under budgets of queries, tokens and
seconds. See :mod:`thinksafe.attacks.adaptive.base` for how a search records and replays its
calls, and :mod:`thinksafe.attacks.adaptive.stage` for how a run hosts the searches.
"""
