"""API keys and what each kind of key may do."""
