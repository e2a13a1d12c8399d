"""
An operator approves an API-key request in the real admin, in headless
Chromium driven by Playwright, against pytest-django's live server.

Playwright's sync API runs an event loop in this thread, and Django refuses
ORM calls while one runs; so the database is arranged before the browser
starts and checked after it closes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from apikeys.models import ApiKey, ApiKeyRequest
from apikeys.request_services import api_key_request_create_new_key
from tests.conftest import TEST_PASSWORD, make_user
from tests.tiers.seeding import seed_tiers

CHROMIUM = Path("/usr/bin/chromium")
GIB = 2**30

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chromium_path():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (Debian package 'chromium')"
        # CI installs Chromium, so there a missing browser is a failure.
        if os.environ.get("POCKITY_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return str(CHROMIUM)


def test_operator_approves_a_key_request_in_the_admin(live_server, chromium_path):
    from playwright.sync_api import sync_playwright

    seed_tiers()
    make_user("operator@example.com", staff=True)
    owner = make_user("customer@example.com")
    pending = api_key_request_create_new_key(
        user=owner,
        storage_bytes=3 * GIB,
        objects=2500,
        key_name="browser-approved",
        reason="Nightly exports",
    )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            # Containers often give /dev/shm only 64 MB.
            args=["--disable-dev-shm-usage"],
        )
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/admin/apikeys/apikeyrequest/")

            page.fill("input[name=username]", "operator@example.com")
            page.fill("input[name=password]", TEST_PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url("**/admin/apikeys/apikeyrequest/")

            page.check(f"input[name=_selected_action][value='{pending.pk}']")
            page.select_option("select[name=action]", "approve_selected")
            page.click("button[name=index]")

            page.wait_for_selector("#decide-form")
            assert page.input_value("input[name=storage_gb]") == "3.000"
            page.fill("textarea[name=comment]", "Approved from Chromium")
            page.click("input[name=_confirm]")

            page.wait_for_selector("ul.messagelist")
            message = page.inner_text("ul.messagelist")
        finally:
            browser.close()

    assert "1 request approved" in message
    pending.refresh_from_db()
    assert pending.status == "APPROVED"
    assert pending.reviewer.email == "operator@example.com"
    assert pending.reviewer_comment == "Approved from Chromium"
    api_key = ApiKey.objects.get(owner=owner)
    assert api_key.name == "browser-approved"
    assert api_key.storage_bytes_limit == 3 * GIB
    assert api_key.object_limit == 2500
    assert pending.api_key == api_key
    assert ApiKeyRequest.objects.get(pk=pending.pk).pending_secret_encrypted
