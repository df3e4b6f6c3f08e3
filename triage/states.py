"""The words the store keeps for states and roles: plain strings, importable without the
store (``triage.models`` re-exports them), so that code that only names them, such as the
wording of mails and the digest, does not load SQLAlchemy.
"""

# Message states
RECU = "recu"  # raw stored and recorded, not checked yet
TRAITE = "traite"  # checked and filed
ERREUR = "erreur"  # the check failed: parked with a reason until `guichet reprocess`
PURGE = "purge"  # personal data removed (`guichet purge`); the hash stays, so a copy
# polled again is known and never answered again

# The status of a polled mail guichet itself sent (its Message-ID is in the outbox)
OWN_MAIL = "envoye_par_guichet"

# Roles of a mail in its application
ROLE_DOSSIER = "dossier"  # carries a dossier: a version of the application
ROLE_COMPLEMENT = "complement"  # annexes or a follow-up without a dossier
# A mail on an application that brings no new file (a reply « le numéro est faux »): a
# message for the coordinators (triage.messages), never a contribution to the verdict
ROLE_MESSAGE = "message"
CONTRIBUTING = (ROLE_DOSSIER, ROLE_COMPLEMENT)  # roles of the mails an application is judged on

# Roles of an attachment besides dossier, annexe, autre
ROLE_DAMAGED = "endommagee"  # arrived damaged: the applicant is asked for it again
ROLE_NOT_READ = "non_lue"  # left unread when the mail's time budget was spent

# Outbox states (issue 5)
OUTBOX_RECORDED = "enregistre"  # rendered and recorded, not handed to SMTP yet
OUTBOX_SENDING = "envoi"  # handed to SMTP; a crash leaves the outcome unknown
OUTBOX_SENT = "envoye"  # the SMTP server accepted it
OUTBOX_ABANDONED = "abandonne"  # refused for good (bad address) or cancelled

# Decisions (issue 5)
DECISIONS = ("retenu", "non_retenu", "attente")

KEYWORD = "guichet-traite"  # the IMAP keyword on mails guichet has handled

# A status only a coordinator gives: the applicant withdrew. Not a candidature any more
# (``triage.filing.CANDIDATURE``): no answer, no chaser, no result mail.
RETIRE = "retire"
