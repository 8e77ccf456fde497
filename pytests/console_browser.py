"""Headless Chromium for the console's tests and benchmark: Debian's chromium and chromedriver, driven by
Selenium with its manager kept offline (it would otherwise try to download drivers and send statistics)."""
import os
import shutil

os.environ["SE_OFFLINE"] = "true"
os.environ["SE_AVOID_STATS"] = "true"

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def open_browser(width=1280, height=800):
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.path.exists(path):
            raise RuntimeError(f"{path} is missing: run `make test` (scripts/install-deps.sh installs {package})")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def wait(driver, seconds=30):
    # Views redraw live: an element found a moment ago may have been replaced, which is not a failure.
    return WebDriverWait(driver, seconds, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,))


def sign_in(driver, console_url, key_id, secret):
    driver.get(console_url)
    wait(driver).until(EC.visibility_of_element_located((By.ID, "access-key-id"))).send_keys(key_id)
    driver.find_element(By.ID, "secret-access-key").send_keys(secret)
    driver.find_element(By.ID, "sign-in").click()
    wait(driver).until(EC.visibility_of_element_located((By.ID, "sign-out")))


def shot(driver, folder, name):
    """Saves a screenshot of the whole page (not only the viewport) as an artifact a person can look at."""
    os.makedirs(folder, exist_ok=True)
    width = driver.execute_script("return document.documentElement.clientWidth")
    height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    metrics = {"width": width, "height": min(height, 6000), "deviceScaleFactor": 1, "mobile": width < 600}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    # Laid out and painted at the new size: two animation frames have passed.
    driver.execute_async_script("requestAnimationFrame(() => requestAnimationFrame(arguments[arguments.length - 1]))")
    path = os.path.join(folder, f"{name}.png")
    driver.save_screenshot(path)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return path


def console_fetch(driver, method, path, body=None, headers=None, csrf=True):
    """A fetch from inside the signed-in page (its cookie, optionally its CSRF token): (status, JSON or text)."""
    return driver.execute_async_script("""
        const [method, path, body, headers, csrf, done] = arguments;
        (async () => {
          const h = Object.assign({}, headers || {});
          if (csrf) { const s = await (await fetch('/console/api/session')).json(); h['X-Stowage-CSRF'] = s.csrfToken; }
          const r = await fetch(path, {method, headers: h, body: body === null ? undefined : JSON.stringify(body)});
          const text = await r.text();
          let data = text; try { data = JSON.parse(text); } catch (e) {}
          done([r.status, data]);
        })().catch((e) => done([0, String(e)]));
    """, method, path, body, headers or {}, csrf)
