"""Helpers shared by the test tiers: payload builders (whatsapp_payloads), provider signatures (signing), the
functions' handlers loaded as Lambda loads them (handlers), a table built from template.yaml (dynamodb), and records
integration tests start from (seeds)."""
