"""The test SMTP server of tests/support/mailbox.py receives what Django's own SMTP
backend sends (the one production uses), accents, attachments and dot-stuffed lines included."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage, get_connection

from tests.support.mailbox import mailbox, text_of


def send(port: int, message: EmailMessage) -> None:
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port, use_tls=False, timeout=5
    )
    message.connection = connection
    assert message.send() == 1


def test_it_keeps_what_the_smtp_backend_sends() -> None:
    with mailbox() as box:
        body = "Bonjour Zoë,\n.une ligne qui commence par un point\n..et deux\nFin."
        subject = "Confirmez votre adresse — Trëmma"
        message = EmailMessage(subject, body, "bonjour@tremma.localhost", ["zoe@example.org"])
        message.attach("recu.pdf", b"%PDF-1.4 test", "application/pdf")
        send(box.port, message)
        got = box.wait_for("ZOE@example.org", subject_has="Confirmez", timeout=5)

    assert got["Subject"] == "Confirmez votre adresse — Trëmma"
    assert text_of(got).replace("\r\n", "\n").rstrip("\n") == body
    (attachment,) = got.iter_attachments()
    assert attachment.get_filename() == "recu.pdf" and attachment.get_content() == b"%PDF-1.4 test"


def test_waiting_for_a_message_that_never_comes_fails_and_says_what_came() -> None:
    with mailbox() as box:
        send(box.port, EmailMessage("Autre chose", "x", "a@example.org", ["b@example.org"]))
        with pytest.raises(AssertionError, match=r"no email to zoe@example\.org.*Autre chose"):
            box.wait_for("zoe@example.org", timeout=0.5)
