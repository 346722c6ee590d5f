"""The local stack: the whole product on moto, built from template.yaml, running the real handlers.

It stands apart from the core: it loads the handlers the template names, as Lambda would; the core never
imports it.
"""
