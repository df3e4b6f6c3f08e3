"""tests/servers.py: the real servers the suite starts on loopback."""

from __future__ import annotations

import os
import pwd
import smtplib
import socket

import psycopg
from imap_tools import MailBoxUnencrypted

from tests.conftest import Accounts
from tests.mails import brussels, sample
from tests.servers import DovecotServer, PostgresCluster, SmtpRelay, free_port


def test_dovecot_serves_imap_with_and_without_tls_and_keeps_keywords(
    dovecot: DovecotServer, accounts: Accounts
) -> None:
    user = accounts.users["info"]
    uid = dovecot.append(user, sample("pe004"), brussels(2026, 9, 14, 9, 59, 59))
    with MailBoxUnencrypted(dovecot.host, dovecot.imap_port).login(user, "secret") as box:
        box.client.uid("STORE", str(uid), "+FLAGS.SILENT", "(guichet-traite)")
        status, data = box.client.uid("FETCH", str(uid), "(INTERNALDATE)")
        assert status == "OK" and b'"14-Sep-2026 07:59:59 +0000"' in data[0]
    with dovecot.mailbox(user) as box:  # verified TLS against the server's own certificate
        box.folder.set("INBOX")
        [message] = box.fetch(mark_seen=False)
        assert "guichet-traite" in message.flags and message.subject.startswith("Question")


def test_the_smtp_relay_delivers_into_dovecot(smtp_relay: SmtpRelay, accounts: Accounts) -> None:
    user = accounts.users["programme"]
    with smtplib.SMTP(smtp_relay.host, smtp_relay.port) as smtp:
        smtp.sendmail("guichet@coopcity.test", [user], sample("pe005"))
    with accounts.dovecot.mailbox(user) as box:
        box.folder.set("INBOX")
        [message] = box.fetch(mark_seen=False)
        assert message.headers["auto-submitted"] == ("auto-replied",)
    assert smtp_relay.received[-1][1] == [user]


def test_postgres_is_a_throwaway_cluster_on_loopback(postgres_cluster: PostgresCluster) -> None:
    url = postgres_cluster.create_database("throwaway")
    assert url.endswith(f"@127.0.0.1:{postgres_cluster.port}/throwaway")
    with psycopg.connect(
        host=postgres_cluster.host, port=postgres_cluster.port, user="guichet", dbname="throwaway"
    ) as conn:
        assert conn.execute("SHOW server_version_num").fetchone()[0] >= "130000"
    assert (postgres_cluster.directory / f".s.PGSQL.{postgres_cluster.port}").is_socket()
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to "postgres"
        owner = postgres_cluster.directory.joinpath("data").stat().st_uid
        assert pwd.getpwuid(owner).pw_name == "postgres"
    postgres_cluster.drop_database("throwaway")


def test_free_ports_are_free() -> None:
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
