"""The admin in headless Chromium: sign in, search, open a contact page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser


@pytest.mark.browser
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_marketer_signs_in_finds_a_contact_and_reads_their_history(
    browser: Browser, live_url: str, users: dict[str, str], shopper_id: int
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(f"{live_url}/admin/contacts")
    expect(page).to_have_url(f"{live_url}/admin/login?next=/admin/contacts")
    page.get_by_label("Email").fill(users["marketer"])
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()

    page.get_by_label("Search contacts").fill("ada")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Ada Lovelace").click()

    expect(page).to_have_url(f"{live_url}/admin/contacts/{shopper_id}")
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    expect(page.locator("#consents")).to_contain_text("opted out")
    expect(page.locator("#orders")).to_contain_text("Brass Desk Lamp")
    expect(page.locator("#events")).to_contain_text("wishlist_add")
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
