"""Regenerate docs/stepthrough.png, the README's picture of `lograd explain --html`.

    python3 docs/make_screenshot.py      # needs chromium, chromedriver and selenium

The page is the built-in example's, shown at the backward step of z (upstream x local).
"""

import shutil
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from lograd import explain

OUT = Path(__file__).resolve().parent / "stepthrough.png"
STEP = "backward: z"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "lecture.html"
        explain().write_html(page, steps=40)
        options = webdriver.ChromeOptions()
        for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                     f"--user-data-dir={tmp}/profile", "--window-size=1360,820"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        try:
            driver.get(page.as_uri())
            for _ in range(20):
                if driver.find_element("id", "counter").text.endswith(STEP):
                    break
                ActionChains(driver).send_keys(Keys.ARROW_RIGHT).perform()
            driver.save_screenshot(str(OUT))
        finally:
            driver.quit()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
