"""The coordinators' desk (issue #13): a small web application (``desk.app``) and the views
it shares with ``guichet list`` and ``guichet show`` (``desk.dossier``)."""
