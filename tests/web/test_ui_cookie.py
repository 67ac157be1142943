"""Outside Salesforce: the importer at /app for a browser signed in with the session cookie (CSRF applies)."""

from __future__ import annotations

import re

from tests.accounts_support import Browser, app_config, sign_up, smtp  # noqa: F401


def test_app_asks_to_log_in_then_works_with_the_cookie_and_csrf_token(client, smtp):  # noqa: F811
    browser = Browser(client)
    assert browser.get("/app", headers={"Accept": "text/html"}).headers["Location"] == "/login?next=%2Fapp"
    sign_up(browser, smtp)
    page = browser.get("/app").get_data(as_text=True)
    assert 'src="/static/js/app.js"' in page and "Ada Lovelace" not in page  # no canvas launch data here
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
    assert "Saved jobs" in browser.get("/ui/home").get_data(as_text=True)

    def post_json(headers: dict):
        return client.post("/api/jobs", json={"name": "x"}, headers=headers, base_url="https://localhost",
                           environ_base={"REMOTE_ADDR": browser.ip})

    assert post_json({}).status_code == 403  # no CSRF token: refused
    answer = post_json({"X-CSRF-Token": token})
    assert answer.status_code == 400 and answer.get_json()["message"] == \
        "Choose the Salesforce instance to import into."
