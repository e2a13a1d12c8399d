"""notifications.emails: templated e-mail rendering and delivery failures."""

from __future__ import annotations

import socket

import pytest
from django.core import mail

from notifications.emails import (
    send_staff_email,
    send_templated_email,
    staff_recipients,
)
from tests.conftest import make_user


@pytest.fixture
def template_dir(tmp_path, settings):
    """A template directory searched first, holding `demo/hello_*`."""
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "hello_subject.txt").write_text("Hello\n  {{ name }}\n")
    (folder / "hello_body.txt").write_text("Plain {{ name }} from {{ site_name }}")
    (folder / "hello_body.html").write_text("<p>Rich {{ name }}</p>")
    (folder / "bare_subject.txt").write_text("Bare")
    (folder / "bare_body.txt").write_text("Only text")
    templates = [dict(settings.TEMPLATES[0])]
    templates[0]["DIRS"] = [tmp_path, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates
    return tmp_path


def test_it_renders_subject_body_and_html(template_dir):
    sent = send_templated_email(
        to=["a@example.com"], template="demo/hello", context={"name": "<Ann>"}
    )

    assert sent is True
    message = mail.outbox[0]
    assert message.subject == "Hello <Ann>"
    assert message.body == "Plain <Ann> from Pockity"
    assert message.alternatives[0][0] == "<p>Rich &lt;Ann&gt;</p>"
    assert message.alternatives[0][1] == "text/html"


def test_html_is_optional(template_dir):
    send_templated_email(to=["a@example.com"], template="demo/bare")

    assert mail.outbox[0].body == "Only text"
    assert mail.outbox[0].alternatives == []


def test_nobody_to_tell_sends_nothing(template_dir):
    assert send_templated_email(to=["", None], template="demo/bare") is False
    assert mail.outbox == []


def test_a_dead_mail_server_is_logged_not_raised(template_dir, settings, caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port
    settings.EMAIL_TIMEOUT = 2

    sent = send_templated_email(to=["a@example.com"], template="demo/bare")

    assert sent is False
    assert "E-mail not sent template=demo/bare" in caplog.text


def test_staff_recipients_prefer_the_setting(db, settings):
    make_user("boss@example.com", staff=True)
    make_user("gone@example.com", staff=True, is_active=False)
    make_user("plain@example.com")

    settings.POCKITY_STAFF_EMAILS = []
    from_users = staff_recipients()
    settings.POCKITY_STAFF_EMAILS = ["ops@example.com"]
    from_setting = staff_recipients()

    assert from_users == ["boss@example.com"]
    assert from_setting == ["ops@example.com"]


def test_staff_email_with_no_staff_sends_nothing(db, template_dir, settings):
    settings.POCKITY_STAFF_EMAILS = []

    assert send_staff_email(template="demo/bare") is False
    assert mail.outbox == []
