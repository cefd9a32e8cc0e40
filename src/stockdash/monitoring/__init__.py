"""Observability: the /metrics route (process counters plus figures read from the database at
scrape time), the HTTP instrumentation, database timing, structured logs and Sentry."""
