"""The results explorer in headless Chromium (Debian's chromium and chromedriver, driven by selenium):
the page loads with no console message, its filters change the rows shown, its pages turn, and a
candidate's phase-fraction chart renders. Screenshots go to the test's tmp_path (explorer-*.png); run
with ``--basetemp DIR`` to keep them where you can look at them."""

import shutil
import tempfile
from pathlib import Path

import pytest

from alloypref.evaluation.explorer import write_explorer

from .helpers import explorer_source

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Root in a container: no sandbox; nothing may reach the network or update itself.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1600,1300",
)


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is in the test extra: pip install -e .[test]"
    )
    from selenium.webdriver.chrome.service import Service

    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    profile = tempfile.mkdtemp(prefix="alloypref-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def scored_sources():
    """Two sources of 40 candidates (more than the page's 50 rows per page), a quarter untrusted, and
    one candidate that fails a rule and one invalid candidate."""
    sft = explorer_source("sft", [-0.01 * k for k in range(40)])
    grpo = explorer_source("grpo", [-1.0 - 0.01 * k for k in range(40)])
    for rewards, _ in (sft, grpo):
        rewards.loc[rewards.index % 4 == 0, ["trusted", "trust_reason"]] = [False, "Al-Ni: mc_ni fails fact x"]
    grpo[0].loc[5, ["b2_room_temp", "all_rules"]] = [False, False]  # scored, fails rule 3
    rewards = sft[0]
    rewards.loc[39, ["status", "bcc_b2_exist", "all_rules", "master_composition", "elements"]] = [
        "invalid",
        False,
        False,
        "",
        "",
    ]
    return {"sft": sft, "grpo": grpo}


def console_messages(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def shown_rows(driver):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "#rows tbody tr")


def test_filters_pages_and_a_candidates_chart_in_headless_chromium(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = tmp_path / "explorer.html"
    write_explorer(scored_sources(), page, max_candidates=1000)
    browser.get(page.as_uri())
    count = browser.find_element(By.ID, "match-count")
    assert count.text == "80 of 80 candidates match"
    assert len(shown_rows(browser)) == 50  # the first page
    browser.save_screenshot(str(tmp_path / "explorer-loaded.png"))

    browser.find_element(By.ID, "page-next").click()
    assert len(shown_rows(browser)) == 30 and browser.find_element(By.ID, "page-label").text == "page 2 of 2"

    Select(browser.find_element(By.ID, "filter-trust")).select_by_value("no")
    assert count.text == "20 of 80 candidates match"
    cells = [row.find_elements(By.TAG_NAME, "td")[8].text for row in shown_rows(browser)]  # the trusted column
    assert cells == ["no"] * 20
    browser.find_element(By.ID, "filter-source-0").click()  # untick sft
    assert count.text == "10 of 80 candidates match"
    assert {row.find_elements(By.TAG_NAME, "td")[0].text for row in shown_rows(browser)} == {"grpo"}
    browser.find_element(By.ID, "filter-reset").click()
    Select(browser.find_element(By.ID, "filter-rule-all_rules")).select_by_value("no")
    # grpo-5 fails; the invalid candidate's rules are not known, so it neither holds nor fails them
    assert count.text == "1 of 80 candidates match"
    assert shown_rows(browser)[0].find_elements(By.TAG_NAME, "td")[1].text == "grpo-5"
    browser.find_element(By.ID, "filter-reset").click()
    browser.find_element(By.ID, "filter-without").send_keys("Ni")
    assert count.text == "1 of 80 candidates match"  # only the invalid candidate has no elements
    browser.find_element(By.ID, "filter-reset").click()
    browser.find_element(By.ID, "filter-reward-min").send_keys("-0.05")
    assert count.text == "6 of 80 candidates match"
    browser.save_screenshot(str(tmp_path / "explorer-filtered.png"))

    first = shown_rows(browser)[0]
    assert first.find_elements(By.TAG_NAME, "td")[1].text == "sft-0"  # sorted by reward, best first
    browser.execute_script("arguments[0].click()", first)
    chart = browser.find_element(By.CSS_SELECTOR, "#chart svg")
    curves = chart.find_elements(By.CSS_SELECTOR, "g.curve")
    assert [c.get_attribute("data-phase") for c in curves] == ["BCC_B2#1", "BCC_B2#2", "LIQUID#1"]
    for curve in curves:
        points = curve.find_element(By.TAG_NAME, "polyline").get_attribute("points").split()
        assert len(points) == 2  # one vertex per temperature of the grid
        assert len(curve.find_elements(By.TAG_NAME, "circle")) == 2
    legend = [t.text for t in chart.find_elements(By.CSS_SELECTOR, "g.legend text")]
    assert legend == ["BCC_B2#1 (BCC)", "BCC_B2#2 (B2)", "LIQUID#1 (LIQUID)"]
    assert chart.size["width"] > 300 and chart.size["height"] > 150  # drawn, not collapsed
    detail = browser.find_element(By.ID, "detail").text
    assert "mc_ni" in detail and "not trusted: Al-Ni: mc_ni fails fact x" in detail
    browser.execute_script("arguments[0].scrollIntoView()", chart)
    browser.find_element(By.ID, "detail").screenshot(str(tmp_path / "explorer-candidate.png"))
    browser.save_screenshot(str(tmp_path / "explorer-selected.png"))
    assert console_messages(browser) == []
