"""The dashboard in a real browser against a real ``convoscope serve``: sign-in by the
link the first start prints, every page drawn without a console error in light and dark,
wide and narrow; the overview's numbers are the DSL's answers; filters live in the URL; a
viewer of one project cannot reach another's pages or data; CSRF and spent links fail.

Screenshots of every page go to ``.screenshots/`` (not committed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.e2e.server import free_port
from tests.web.browser import (
    NARROW,
    SCREENSHOTS,
    WIDE,
    console_errors,
    full_page_screenshot,
    set_color_scheme,
    set_viewport,
    start_browser,
    submit_and_wait,
    wait_until_loaded,
)
from tests.web.seed import log_data

PAGES = {
    "overview": "/",
    "conversations": "/dashboard/conversations",
    "conversation": "/dashboard/conversations/conv-001",
    "topics": "/dashboard/topics",
    "gaps": "/dashboard/gaps",
    "search": "/dashboard/search",
    "settings": "/dashboard/settings",
}


@dataclass
class Server:
    url: str
    env: dict[str, str]
    key: str
    first_link: str
    now: datetime
    other_project_id: str = ""
    other_key: str = ""
    empty_project_id: str = ""

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "convoscope.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A first start on an empty SQLite file, with data logged through the API, and a
    second project with a conversation of its own."""
    directory = tmp_path_factory.mktemp("dashboard")
    port = free_port()
    env = {
        **os.environ,
        "CONVOSCOPE_DATABASE_URL": f"sqlite:///{directory / 'convoscope.db'}",
        "CONVOSCOPE_PORT": str(port),
        "CONVOSCOPE_ANNOTATION_WORKER": "false",
        "CONVOSCOPE_KEY_CACHE_SECONDS": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "convoscope.cli", "serve"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(6)]
        key, link = lines[3].strip(), lines[5].strip()
        assert key.startswith("cvs_") and "/dashboard/signin/" in link, lines
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        now = datetime.now(UTC)
        log_data(url, key, now=now)
        found = Server(url, env, key, link, now)
        found.cli("projects", "create", "globex")
        found.other_key = found.cli("keys", "create", "--project", "globex")
        project_id = httpx.post(
            url + "/conversations",
            headers={"Authorization": f"Bearer {found.other_key}"},
            json={"id": "globex-secret", "type": "openai",
                  "messages": [{"role": "user", "content": "globex only"}]},
        ).json()["projectId"]  # fmt: skip
        found.other_project_id = project_id
        created = found.cli("projects", "create", "empty")
        found.empty_project_id = created.split("(")[1].rstrip(")")
        found.cli("users", "create", "admin@localhost", "--project", "empty", "--role", "admin")
        yield found
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    driver = start_browser()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def admin(server: Server, browser: webdriver.Chrome) -> webdriver.Chrome:
    """The first start's admin, signed in by the link it printed."""
    browser.get(server.first_link)
    wait_until_loaded(browser)
    return browser


def test_the_first_start_link_signs_in_to_the_overview(
    server: Server, admin: webdriver.Chrome
) -> None:
    assert admin.current_url == server.url + "/"
    assert admin.find_element(By.CSS_SELECTOR, "h1").text == "Overview"
    cookie = admin.get_cookie("convoscope_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_a_link_works_once(server: Server, admin: webdriver.Chrome) -> None:
    response = httpx.get(server.first_link, follow_redirects=False)
    assert response.status_code == 401
    assert "expired or was used already" in response.text


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["wide", "narrow"])
def test_every_page_renders_without_console_errors(
    server: Server, admin: webdriver.Chrome, scheme: str, size: tuple[int, int]
) -> None:
    set_color_scheme(admin, scheme)
    set_viewport(admin, size)
    admin.get_log("browser")  # type: ignore[no-untyped-call]  # drop what earlier tests left
    pages = {**PAGES, "empty": f"/?project={server.empty_project_id}"}
    try:
        for name, path in pages.items():
            admin.get(server.url + path)
            wait_until_loaded(admin)
            assert admin.find_elements(By.CSS_SELECTOR, "main h1"), name
            if name == "empty":
                assert "No conversations yet in empty" in admin.page_source
            assert not admin.find_elements(By.CSS_SELECTOR, "main .error"), name
            assert console_errors(admin) == [], name
            width = "wide" if size == WIDE else "narrow"
            full_page_screenshot(admin, SCREENSHOTS / f"{name}-{scheme}-{width}.png")
            # Nothing wider than the screen (tables scroll inside their panel).
            overflow = admin.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{name} is {overflow}px wider than the screen"
    finally:
        set_color_scheme(admin, "light")
        set_viewport(admin, WIDE)


def _dsl(server: Server, resource: str, body: dict[str, object]) -> list[dict[str, object]]:
    response = httpx.post(
        f"{server.url}/query/{resource}",
        headers={"Authorization": f"Bearer {server.key}"},
        json=body,
    )
    response.raise_for_status()
    rows: list[dict[str, object]] = response.json()["data"]["result"]
    return rows


def test_the_overview_numbers_are_the_dsl_answers(server: Server, admin: webdriver.Chrome) -> None:
    start = (server.now - timedelta(days=3)).date()
    end = server.now.date()
    admin.get(f"{server.url}/?range=custom&from={start}&to={end}")
    wait_until_loaded(admin)
    shown = {
        card.get_attribute("data-key"): card.find_element(By.CSS_SELECTOR, ".value").text
        for card in admin.find_elements(By.CSS_SELECTOR, ".card")
    }

    def window(field: str, *more: dict[str, object]) -> dict[str, object]:
        first, after = f"{start}T00:00:00.000Z", f"{end + timedelta(days=1)}T00:00:00.000Z"
        return {"and": [
            {"condition": {"field": field, "operator": "gte", "value": first}},
            {"condition": {"field": field, "operator": "lt", "value": after}}, *more]}  # fmt: skip

    count = [{"type": "aggregation", "aggregation": "count"}]
    conversations = _dsl(server, "conversations", {
        "select": [*count, {"type": "aggregation", "aggregation": "countDistinct",
                            "field": "userProperties", "path": ["id"]}],
        "where": window("firstMessageTime")})[0]  # fmt: skip
    questions = _dsl(server, "semantic-threads", {"select": count,
                     "where": window("firstMessageTime")})[0]["count"]  # fmt: skip
    gaps = _dsl(server, "semantic-threads", {"select": count, "where": window(
        "firstMessageTime", {"condition": {"field": "isDocumented", "operator": "eq",
                                           "value": False}})})[0]["count"]  # fmt: skip
    feedback = {
        r["type"]: r["count"]
        for r in _dsl(server, "feedback", {"select": count, "groupBy": [{"field": "type"}],
                                           "where": window("createdAt")})
    }  # fmt: skip
    up, down = int(feedback.get("positive", 0)), int(feedback.get("negative", 0))  # type: ignore[call-overload]
    assert int(conversations["count"]) > 0 and up + down > 0  # type: ignore[call-overload]
    assert shown["conversations"] == str(conversations["count"])
    assert shown["users"] == str(conversations["countDistinct_userProperties.id"])
    assert shown["questions"] == str(questions)
    assert shown["thumbs_up"] == str(up) and shown["thumbs_down"] == str(down)
    assert shown["positive_share"] == f"{up / (up + down) * 100:.1f}%"
    # Every thread is annotated by the seed, so the gap share is over all questions.
    assert shown["gap_share"] == f"{int(gaps) / int(questions) * 100:.1f}%"  # type: ignore[call-overload]


def test_a_filter_changes_the_url_and_the_rows(server: Server, admin: webdriver.Chrome) -> None:
    admin.get(server.url + "/dashboard/conversations")
    wait_until_loaded(admin)
    before = len(admin.find_elements(By.CSS_SELECTOR, "[data-kind=conversations] tbody tr"))
    field = admin.find_element(By.NAME, "category")
    field.send_keys("billing")
    submit_and_wait(admin, field)
    assert "category=billing" in admin.current_url
    questions = [
        cell.text
        for cell in admin.find_elements(By.CSS_SELECTOR, "[data-kind=conversations] td.question")
    ]
    assert questions and len(questions) < before
    assert set(questions) == {"Why was I charged twice this month?"}
    csv = admin.find_element(By.LINK_TEXT, "Export CSV").get_attribute("href")
    assert csv is not None and "category=billing" in csv


def test_a_viewer_of_one_project_cannot_reach_another(
    server: Server, browser: webdriver.Chrome
) -> None:
    server.cli("users", "create", "viewer@example.com", "--project", "default")
    link = server.cli("users", "link", "viewer@example.com")
    browser.delete_all_cookies()
    browser.get(link)
    wait_until_loaded(browser)
    assert "Settings" not in browser.find_element(By.CSS_SELECTOR, "nav.pages").text
    other = server.other_project_id
    for path in (
        f"/dashboard/conversations/globex-secret?project={other}",
        "/dashboard/conversations/globex-secret",
        f"/?project={other}",
        "/dashboard/settings",
    ):
        browser.get(server.url + path)
        assert "globex only" not in browser.page_source
        heading = browser.find_element(By.CSS_SELECTOR, "main h1").text
        assert heading.startswith(("404", "403")), (path, heading)
    statuses: object = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        Promise.all(arguments[0].map((u) => fetch(u).then((r) => r.status))).then(done);""",
        [
            f"/dashboard/api/conversations/globex-secret?project={other}",
            "/dashboard/api/conversations/globex-secret",
            f"/dashboard/api/overview/cards?project={other}",
            f"/dashboard/api/conversations.csv?project={other}",
        ],
    )
    assert statuses == [404, 404, 404, 404]


def test_forms_without_the_csrf_token_and_spent_links_are_refused(
    server: Server, browser: webdriver.Chrome
) -> None:
    server.cli("users", "create", "csrf@example.com", "--project", "default", "--role", "admin")
    link = server.cli("users", "link", "csrf@example.com")
    browser.delete_all_cookies()
    browser.get(link)
    cookie = browser.get_cookie("convoscope_session")
    assert cookie is not None
    jar = {"convoscope_session": cookie["value"]}
    for form in ({"name": "forged"}, {"name": "forged", "csrf": "wrong"}):
        refused = httpx.post(server.url + "/dashboard/settings/projects", data=form, cookies=jar)
        assert refused.status_code == 403
    listing = subprocess.run(
        [sys.executable, "-m", "convoscope.cli", "projects", "list"],
        env=server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "globex" in listing.stdout and "forged" not in listing.stdout
    signout = httpx.post(server.url + "/dashboard/signout", data={}, cookies=jar)
    assert signout.status_code == 403
    spent = httpx.get(link, follow_redirects=False)
    assert spent.status_code == 401
    expired = server.cli("users", "link", "csrf@example.com")
    _expire_links(server)
    assert httpx.get(expired, follow_redirects=False).status_code == 401


def _expire_links(server: Server) -> None:
    """Move every link's expiry into the past, as 15 minutes passing would."""
    from sqlalchemy import update

    from convoscope.store import make_engine
    from convoscope.store.tables import signin_links

    engine = make_engine(server.env["CONVOSCOPE_DATABASE_URL"], pool_size=1)
    with engine.begin() as conn:
        conn.execute(
            update(signin_links).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    engine.dispose()


def test_screenshots_were_saved() -> None:
    assert SCREENSHOTS.is_dir() and list(Path(SCREENSHOTS).glob("overview-*.png"))
