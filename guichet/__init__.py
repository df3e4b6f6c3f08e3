"""guichet: email ingestion and triage of application dossiers."""

__version__ = "0.1.0"
