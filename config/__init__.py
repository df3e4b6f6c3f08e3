"""guichet: config."""
