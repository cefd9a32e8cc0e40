"""The dashboard: every watchlist stock with its quote, sparkline and analyses in one request."""
