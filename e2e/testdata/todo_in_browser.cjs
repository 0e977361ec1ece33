// Uses a deployed todo app in headless Chromium the way a person would: add two tasks,
// tick one off, reload, and check that the tasks survived. Prints a JSON report.
// usage: node todo_in_browser.cjs <url>   (NODE_PATH must reach playwright-core)
const { launch, newPage, run } = require('./browser.cjs');

run(async () => {
  const url = process.argv[2];
  const browser = await launch();
  const { page, errors } = await newPage(browser);

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
  await browser.close();
  return report;
});
