"""guichet: notifications."""
