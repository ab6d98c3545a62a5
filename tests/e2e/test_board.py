"""The season board in a real browser: headless Chromium (Debian's, driven by selenium through
chromedriver; `make test` installs both) against registry, awards and reporting as their own
processes. The figures on the page are the `coverage` query's, a drill-down follows the tree, and a
festival reported through the bus reaches the open page live (server-sent events), without a reload."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.reporting.board import totals
from services.reporting.board.strings import millions, number, percent
from tests.e2e.awards_flow import Outside, ok
from tests.e2e.conftest import ServiceProcess, board_events, running, service_process
from tests.e2e.test_reporting_e2e import query, season, until

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def board_stack(servers, tmp_path_factory, registry_process) -> Iterator[dict[str, ServiceProcess]]:
    tmp = tmp_path_factory.mktemp("e2e-board")
    procs = {
        "awards": service_process(servers, "awards", tmp),
        "reporting": service_process(servers, "reporting", tmp, ANTQ_COVERAGE_INTERVAL_SECONDS="0.5"),
    }
    with running(procs):
        yield procs


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not Path(CHROMEDRIVER).exists():
        pytest.fail("chromedriver is missing: `make test` installs Debian's chromium and chromium-driver")
    options = Options()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    # the machine has no network beyond loopback: nothing in the background may try to reach out
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
        "--lang=vi",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait_for(condition, timeout: float = 30.0, what: str = "the page"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def field(driver, unit: str, name: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'[data-unit="{unit}"][data-field="{name}"]').text


async def coverage(url: str, unit: str) -> dict:
    return ok(await query(url, "coverage", {"year": 2026, "scope_unit_id": unit}))


def test_the_board_shows_the_season_drills_down_and_updates_live(servers, board_stack, browser):
    url = servers.nats_url
    u = asyncio.run(season(url))

    async def settled() -> bool:  # reporting has learnt the tree, the festivals, the award and the gift
        figures = (await query(url, "coverage", {"year": 2026, "scope_unit_id": u["p"]})).get("result") or {}
        gifts = (await query(url, "gifts-summary", {"year": 2026, "scope_unit_id": u["p"]})).get("result") or {}
        awards = (await query(url, "awards-summary", {"year": 2026, "scope_unit_id": u["p"]})).get("result") or {}
        counts = (figures.get("units_total"), figures.get("units_planned"), figures.get("units_held"))
        return counts == (5, 3, 2) and gifts.get("entries") == 1 and bool(awards.get("awards"))

    assert asyncio.run(until(settled)), "reporting never showed the season"
    province = asyncio.run(coverage(url, u["p"]))
    base = board_stack["reporting"].url("/board")

    # the start page lists the year's campaigns; the province's opens its board
    browser.get(f"{base}?year=2026")
    browser.find_element(By.LINK_TEXT, f"Đơn vị {u['p']}").click()
    wait_for(lambda: browser.find_element(By.ID, "scope-name").text == f"Đơn vị {u['p']}")

    # the figures are the coverage query's, formatted as the province reads them
    for name in ("units_held", "units_total", "units_planned", "participants"):
        assert field(browser, u["p"], name) == number(province[name], "vi"), name
    assert field(browser, u["p"], "cost_vnd") == millions(province["cost_vnd"], "vi") == "4,0"  # million đồng
    assert field(browser, u["p"], "coverage") == percent(province["coverage"], "vi") == "40,0 %"
    for row in province["breakdown"]:
        assert field(browser, row["unit_id"], "units_held") == number(row["units_held"], "vi")
        assert field(browser, row["unit_id"], "coverage") == percent(row["coverage"], "vi")
    gifts = browser.find_element(By.ID, "gift-value").text
    assert gifts == number(1_500_000, "vi") == "1.500.000"
    summary = ok(asyncio.run(query(url, "awards-summary", {"year": 2026, "scope_unit_id": u["p"]})))
    assert browser.find_element(By.ID, "awards").text == number(totals(summary)["awards"], "vi")
    assert browser.find_element(By.ID, "nominations").text == number(totals(summary)["nominations"], "vi") == "1"

    # drill down: ward W1's own board, its figures and its missing units as the queries give them
    browser.find_element(By.LINK_TEXT, f"Đơn vị {u['w1']}").click()
    wait_for(lambda: browser.find_element(By.ID, "scope-name").text == f"Đơn vị {u['w1']}")
    ward = asyncio.run(coverage(url, u["w1"]))
    assert field(browser, u["w1"], "units_held") == number(ward["units_held"], "vi")
    assert field(browser, u["w1"], "units_total") == number(ward["units_total"], "vi")
    missing = ok(asyncio.run(query(url, "units-missing", {"year": 2026, "scope_unit_id": u["w1"]})))
    shown = [e.get_attribute("data-missing") for e in browser.find_elements(By.CSS_SELECTOR, "[data-missing]")]
    assert shown == [m["unit_id"] for m in missing["units"]] and shown
    crumbs = browser.find_element(By.CLASS_NAME, "crumbs").text
    assert f"Đơn vị {u['p']}" in crumbs

    # back on the province's board, a festival reported through the bus arrives without a reload
    browser.find_element(By.LINK_TEXT, f"Đơn vị {u['p']}").click()
    wait_for(lambda: browser.find_element(By.ID, "scope-name").text == f"Đơn vị {u['p']}")
    wait_for(lambda: browser.find_element(By.TAG_NAME, "body").get_attribute("data-live-state") == "on", what="live")
    browser.execute_script("window.stillTheSamePage = true;")
    asyncio.run(report_g3(url, u))
    wait_for(lambda: field(browser, u["p"], "units_held") == "3", what="the live update", timeout=60)
    assert browser.execute_script("return window.stillTheSamePage === true;"), "the page reloaded"
    assert field(browser, u["p"], "coverage") == "60,0 %"
    assert field(browser, u["p"], "cost_vnd") == "5,0"  # written by the page's script, as the server writes it
    assert field(browser, u["w2"], "units_held") == "1"  # the ward's row moved too
    assert int(browser.find_element(By.TAG_NAME, "body").get_attribute("data-updates")) >= 1

    # English on request; on a phone the page fits the screen (tables scroll inside their card)
    browser.get(f"{base}/u/{u['p']}?year=2026&lang=en")
    assert browser.find_element(By.TAG_NAME, "h2").text == "Units below"
    browser.set_window_size(390, 844)
    browser.get(f"{base}/u/{u['p']}?year=2026")
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone"
    browser.set_window_size(1280, 1000)
    if os.environ.get("ANTQ_BOARD_SCREENSHOT"):  # the README's picture: ANTQ_BOARD_SCREENSHOT=docs/board.png
        browser.get(f"{base}/u/{u['p']}?year=2026")
        browser.save_screenshot(os.environ["ANTQ_BOARD_SCREENSHOT"])


async def report_g3(url: str, u: dict[str, str]) -> None:
    import nats

    nc = await nats.connect(url)
    try:
        c = Outside(nc)
        plan = {
            "unit_id": u["g3"],
            "year": 2026,
            "date": "2026-08-12",
            "venue": "Sân tổ dân phố",
            "ceremony": {},
            "festival_part": {},
        }
        fid = ok(await c.send("registry", "plan-festival", plan))["festival_id"]
        report = {
            "festival_id": fid,
            "held_on": "2026-08-12",
            "participants": 90,
            "ceremony_held": True,
            "festival_part_held": True,
            "cost_vnd": 1_000_000,
        }
        ok(await c.send("registry", "report-festival", report))
    finally:
        await nc.close()


def test_a_unit_not_known_answers_a_page_not_a_traceback(board_stack, browser):
    base = board_stack["reporting"].url("/board")
    browser.get(f"{base}/u/no-such-unit-{uuid.uuid4().hex[:6]}?year=2026")
    assert browser.find_element(By.ID, "problem").text.startswith("Không tìm thấy trong số liệu báo cáo")
    assert "not known to reporting" in browser.find_element(By.TAG_NAME, "main").text  # the service's words too


async def test_a_page_on_another_tree_date_updates_live_on_its_own_date(servers, board_stack):
    """The topic carries figures on each season's tree (here 19 Aug, the report deadline); a page asked
    on 15 Sep (after G2 moved) is read again on its own date when the topic says its figures moved."""
    import httpx

    url = servers.nats_url
    u = await season(url)

    async def settled() -> bool:  # the festivals, and G2's move of 1 Sep, are known to reporting
        figures = (await query(url, "coverage", {"year": 2026, "scope_unit_id": u["p"]})).get("result") or {}
        moved = await query(url, "coverage", {"year": 2026, "scope_unit_id": u["w2"], "tree_date": "2026-09-15"})
        done = (figures.get("units_planned"), figures.get("units_held")) == (3, 2)
        return done and (moved.get("result") or {}).get("units_total") == 3

    assert await until(settled)
    live = board_stack["reporting"].url(f"/board/live?year=2026&unit={u['p']}&day=2026-09-15")
    found: list[dict] = []
    ready = asyncio.Event()

    async def listen() -> None:
        async with httpx.AsyncClient(timeout=90) as http, http.stream("GET", live) as s:
            await board_events(
                s.aiter_lines(), found, ready, lambda e: e["unit_id"] == u["p"] and e["figures"]["units_held"] == 3
            )

    listening = asyncio.create_task(listen())
    await asyncio.wait_for(ready.wait(), 30)
    await report_g3(url, u)
    await asyncio.wait_for(listening, 90)
    ward = [f for f in found if f["unit_id"] == u["w2"]]
    # on 15 Sep, W2 holds W2, G3 and G2 (moved in on 1 Sep): 3; on the season's tree (19 Aug) it held 2
    assert ward and ward[-1]["figures"]["units_total"] == 3


def test_a_bad_year_is_a_page_not_a_crash(board_stack):
    import httpx

    base = board_stack["reporting"].url("/board")
    for year in ("%C2%B2", "2004", "abc", "20260"):
        r = httpx.get(f"{base}?year={year}")
        assert r.status_code == 400 and "2005" in r.text, (year, r.status_code)
    assert httpx.get(f"{base}/live?year=%C2%B2&unit=x").status_code == 400
