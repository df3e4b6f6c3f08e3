"""guichet: triage."""
