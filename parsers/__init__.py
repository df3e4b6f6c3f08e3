"""guichet: parsers."""
