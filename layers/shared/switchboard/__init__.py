"""Switchboard's core: channels, store, services and the agent API, shared by every function."""
