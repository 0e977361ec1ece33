// Uses a deployed todo app in headless Chromium the way a person would: add two tasks,
// tick one off, reload, and check that the tasks survived. Prints a JSON report.
// usage: node todo_in_browser.cjs <url>   (NODE_PATH must reach playwright-core)
const { chromium } = require('playwright-core');

(async () => {
  const url = process.argv[2];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('requestfailed', (r) => errors.push('request failed: ' + r.url()));

  await page.goto(url, { waitUntil: 'load' });
  const input = page.getByLabel('New task');
  for (const task of ['Buy milk', 'Walk the dog']) {
    await input.fill(task);
    await input.press('Enter');
  }
  await page.getByText('Walk the dog').waitFor();
  await page.getByRole('checkbox', { name: 'Buy milk' }).check();
  const left = await page.getByText(/tasks? left/).textContent();
  await page.reload({ waitUntil: 'load' });
  await page.getByText('Walk the dog').waitFor();
  const report = {
    title: await page.title(),
    heading: await page.locator('h1').first().textContent(),
    left,
    leftAfterReload: await page.getByText(/tasks? left/).textContent(),
    buyMilkDone: await page.getByRole('checkbox', { name: 'Buy milk' }).isChecked(),
    errors,
  };
  console.log(JSON.stringify(report));
  await browser.close();
})().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
