"""The agent API: one resolver, routes split into routers by capability."""
