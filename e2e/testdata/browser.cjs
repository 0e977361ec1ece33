// Shared by the browser scripts: Debian's Chromium through playwright-core, and a page
// that collects what it logs as errors.
const { chromium } = require('playwright-core');

async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// newPage opens a page and returns it with the list its errors land in; ignore filters
// console errors a script expects.
async function newPage(browser, ignore) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !(ignore && ignore.test(m.text()))) errors.push(m.text()); });
  page.on('requestfailed', (r) => errors.push('request failed: ' + r.url()));
  return { page, errors };
}

// run runs main and prints its report as JSON, or the error and exits 1.
function run(main) {
  main().then((report) => console.log(JSON.stringify(report)))
    .catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
}

module.exports = { launch, newPage, run };
