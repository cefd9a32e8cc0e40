"""Read-only API keys for scripts and integrations."""
