// Opens the server's /docs page in headless Chromium and checks what a reader
// would see: the page renders (no console error, no page error, no request to
// another origin), every route of /openapi.json is on it, and its screenshot
// is not blank. Run by docs_page.sh, which starts the server and installs
// playwright-core; see there.
//
// Usage: node docs_page.cjs BASE_URL SCREENSHOT.png
// Environment: PLAYWRIGHT_CORE (the module's directory), CHROMIUM (the binary).
"use strict";

const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

// The flags headless Chromium needs as root in a container, and those that
// keep it from calling home, so the only traffic is to the server under test.
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// A rendered page has text, method badges and tables on most of its area; a
// blank or unstyled one has almost nothing. One percent of the pixels is far
// below the first and well above the second.
const MIN_INK = 0.01;

async function main() {
  const [base, screenshot] = process.argv.slice(2);
  if (!base || !screenshot) {
    throw new Error("usage: node docs_page.cjs BASE_URL SCREENSHOT.png");
  }
  const origin = new URL(base).origin;
  const problems = [];

  const openapi = await (await fetch(`${origin}/openapi.json`)).json();
  const routes = [];
  for (const [path, item] of Object.entries(openapi.paths)) {
    for (const method of Object.keys(item)) {
      if (method !== "parameters") {
        routes.push(`${method.toUpperCase()} ${path}`);
      }
    }
  }

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ARGS,
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (message) => {
      if (message.type() === "error") {
        problems.push(`console error: ${message.text()}`);
      }
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("requestfailed", (request) =>
      problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`),
    );
    page.on("request", (request) => {
      if (new URL(request.url()).origin !== origin) {
        problems.push(`request to another origin: ${request.url()}`);
      }
    });

    const response = await page.goto(`${origin}/docs`, { waitUntil: "load" });
    if (!response || response.status() !== 200) {
      problems.push(`GET /docs answered ${response && response.status()}`);
    }
    await page.waitForSelector("body[data-state]", { state: "attached", timeout: 15000 });
    const state = await page.getAttribute("body", "data-state");
    if (state !== "ready") {
      problems.push(`the page says ${state}: ${await page.textContent("#state")}`);
    }
    const rendered = await page.$$eval("[data-route]", (nodes) =>
      nodes.map((node) => node.getAttribute("data-route")),
    );
    for (const route of routes) {
      if (!rendered.includes(route)) {
        problems.push(`route not rendered: ${route}`);
      }
    }
    for (const route of rendered) {
      if (!routes.includes(route)) {
        problems.push(`rendered route not in openapi.json: ${route}`);
      }
    }

    await page.screenshot({ path: screenshot, fullPage: false });
    // Count non-white pixels of the screenshot in a blank page of its own,
    // where the docs page's Content-Security-Policy does not apply.
    const png = require("fs").readFileSync(screenshot).toString("base64");
    const scratch = await browser.newPage();
    const ink = await scratch.evaluate(async (data) => {
      const image = new Image();
      image.src = `data:image/png;base64,${data}`;
      await image.decode();
      const canvas = Object.assign(document.createElement("canvas"), {
        width: image.width,
        height: image.height,
      });
      const context = canvas.getContext("2d");
      context.drawImage(image, 0, 0);
      const pixels = context.getImageData(0, 0, image.width, image.height).data;
      let inked = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        if (pixels[i] < 240 || pixels[i + 1] < 240 || pixels[i + 2] < 240) {
          inked += 1;
        }
      }
      return inked / (pixels.length / 4);
    }, png);
    if (!(ink >= MIN_INK)) {
      problems.push(`the screenshot is blank: ${(ink * 100).toFixed(2)}% non-white pixels`);
    }
    console.log(
      `docs page: ${rendered.length} of ${routes.length} routes rendered, ` +
        `${(ink * 100).toFixed(1)}% non-white pixels, screenshot ${screenshot}`,
    );
  } finally {
    await browser.close();
  }

  if (problems.length > 0) {
    for (const problem of problems) {
      console.error(`docs page: ${problem}`);
    }
    process.exit(1);
  }
}

main().catch((error) => {
  console.error(`docs page: ${error.stack || error}`);
  process.exit(1);
});
