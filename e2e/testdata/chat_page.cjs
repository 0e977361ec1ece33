// Uses appforge's chat page in headless Chromium the way a person would: ask for an app,
// watch it appear in the preview, change it, then reload the page and find the
// conversation again. Prints a JSON report.
// usage: node chat_page.cjs <api-url>   (NODE_PATH must reach playwright-core)
const { launch, newPage, run } = require('./browser.cjs');

run(async () => {
  const base = process.argv[2];
  const browser = await launch();
  // The one 400 is the message this script sends to be refused.
  const { page, errors } = await newPage(browser, /status of 400/);
  const timeout = 180000;
  const heading = () => page.frameLocator('#preview').locator('h1').first();

  await page.goto(base + '/', { waitUntil: 'load' });
  const msg = page.getByLabel('Message');
  await msg.fill('Create a todo app called Chores');
  await msg.press('Enter');
  await page.locator('.ev.live').first().waitFor({ timeout });
  await heading().filter({ hasText: 'Chores' }).waitFor({ timeout: 30000 });
  const first = await heading().textContent();
  const appId = new URL(page.url()).searchParams.get('app');

  await msg.fill('make the title say My Tasks');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.ev.live').nth(1).waitFor({ timeout });
  await heading().filter({ hasText: 'My Tasks' }).waitFor({ timeout: 30000 });
  const second = await heading().textContent();

  // A message the API refuses is shown, not lost silently.
  await msg.fill('x'.repeat(20000));
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.ev.error').first().waitFor({ timeout: 30000 });
  const refused = await page.locator('.ev.error').first().textContent();

  await page.reload({ waitUntil: 'load' });
  await page.locator('.ev.live').nth(1).waitFor({ timeout: 30000 });
  await heading().filter({ hasText: 'My Tasks' }).waitFor({ timeout: 30000 });
  const report = {
    appId,
    first,
    second,
    refused,
    afterReload: await heading().textContent(),
    selected: await page.locator('#apps').inputValue(),
    lines: await page.locator('#log .ev small').allTextContents(),
    previewLink: await page.locator('#open').getAttribute('href'),
    errors,
  };
  await browser.close();
  return report;
});
