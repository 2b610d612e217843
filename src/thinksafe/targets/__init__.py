"""Targets, one module per provider: ``openai`` (also ``ollama``) and ``mock``.

Nothing is imported here: ``thinksafe.registry.targets`` imports a provider's module the first
time its name is looked up, so an SDK is loaded only when its provider is used.
"""
