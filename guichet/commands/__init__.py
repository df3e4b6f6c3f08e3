"""Subcommands of the guichet CLI, one module each."""
