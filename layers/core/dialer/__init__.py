"""Core of the dialer: domain, policies, AWS adapters, services, settings, observability.

Imports nothing at package level; nothing here touches AWS or reads the environment at import
time (settings are read through :func:`dialer.settings.get_settings`).
"""
