"""The outbound webhook POST: timeouts, refusals and status handling."""

from __future__ import annotations

import socket

import pytest

from notifications.transport import post_json


@pytest.fixture
def allow_loopback(settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True


def test_a_2xx_is_ok_and_the_body_arrives(allow_loopback, webhook_receiver):
    result = post_json(webhook_receiver.url, body=b'{"a":1}', headers={"X-Test": "yes"})

    assert result.ok
    assert result.status_code == 200
    assert result.error == ""
    (request,) = webhook_receiver.requests
    assert request["body"] == b'{"a":1}'
    assert request["headers"]["X-Test"] == "yes"
    assert request["headers"]["User-Agent"].startswith("Pockity-Webhook/")


def test_a_refused_url_is_never_contacted(webhook_receiver):
    result = post_json(webhook_receiver.url, body=b"{}", headers={})

    assert not result.ok
    assert result.status_code is None
    assert "loopback" in result.error
    assert webhook_receiver.requests == []


def test_a_server_that_never_answers_times_out(allow_loopback):
    # A listening socket nobody reads from: the connection is accepted by the
    # kernel, the request is sent, and no answer ever comes.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        result = post_json(
            f"http://127.0.0.1:{silent.getsockname()[1]}/", body=b"{}", headers={}
        )
    finally:
        silent.close()

    assert not result.ok
    assert result.status_code is None
    assert "timed out" in result.error.lower() or "timeout" in result.error.lower()


def test_a_closed_port_is_an_error_not_an_exception(allow_loopback):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = post_json(f"http://127.0.0.1:{port}/", body=b"{}", headers={})

    assert not result.ok
    assert "Connection" in result.error or "refused" in result.error.lower()
