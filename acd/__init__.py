"""Jono's application: dial plan, call flows, the ACD, storage, web API, CLI."""
