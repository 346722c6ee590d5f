"""Helpers shared by the test tiers: payload builders (whatsapp_payloads), provider signatures (signing), the
functions' handlers loaded as Lambda loads them (handlers), and a table built from template.yaml (dynamodb)."""
