"""Repair: realignment and RL alignment that write a model folder the local targets load."""
