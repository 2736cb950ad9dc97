"""OpenTelemetry intake: GenAI spans sent to ``POST /v1/traces`` become conversations."""
