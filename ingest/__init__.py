"""guichet: ingest."""
