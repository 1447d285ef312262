import { chromium, type Browser, type Page } from "playwright-core";

/**
 * Debian's Chromium (installed by .ci/run with apt), driven by playwright-core: never a downloaded
 * browser. Flags keep it quiet and offline apart from the page under test.
 */
export const CHROMIUM = "/usr/bin/chromium";

/** Launches headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/**
 * Console errors and CSP violations a page reports; a test asserts the list stays empty. The
 * listener is added before any page script runs (an init script is not subject to the page's CSP).
 */
export async function watchProblems(page: Page): Promise<() => Promise<string[]>> {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return async () => problems;
}

/** Signs in through the form with an API token and waits for the credentials page. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/ui/login`);
  await page.getByLabel(/API token/).fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${url}/ui/credentials`);
}
