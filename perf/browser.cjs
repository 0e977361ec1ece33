// Loads one URL in headless Chromium as a first-time visitor (fresh context, empty cache)
// and prints a JSON report: Largest Contentful Paint, the navigation and resource timing
// entries, DOMContentLoaded and load. Embedded and run by perf.Measure.
// usage: node browser.cjs '<config JSON>'   (NODE_PATH must reach playwright-core)
// config: {url, chromium, args[], ignoreHTTPSErrors, timeoutMs, quietMs, settleMaxMs}
const { chromium } = require('playwright-core');

const cfg = JSON.parse(process.argv[2]);

// Runs in the page before any of its scripts: records every LCP candidate.
function observeLCP() {
  const perf = { lcp: null, candidates: 0, error: '' };
  Object.defineProperty(window, '__appforgePerf', { value: perf });
  const describe = (el) => {
    if (!el) return '';
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    for (const c of el.classList || []) s += '.' + c;
    return s;
  };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        perf.candidates++;
        perf.lcp = {
          startTime: e.startTime, renderTime: e.renderTime, loadTime: e.loadTime,
          size: e.size, url: e.url || '', element: describe(e.element),
        };
      }
    }).observe({ type: 'largest-contentful-paint', buffered: true });
  } catch (e) {
    perf.error = String(e);
  }
}

async function main() {
  const deadline = Date.now() + cfg.timeoutMs;
  // A last resort: exiting runs playwright's exit handler, which kills Chromium.
  setTimeout(() => { process.stderr.write('timed out after ' + cfg.timeoutMs + ' ms\n'); process.exit(1); }, cfg.timeoutMs + 1000).unref();
  const browser = await chromium.launch({
    executablePath: cfg.chromium, args: cfg.args, timeout: cfg.timeoutMs,
  });
  try {
    const context = await browser.newContext({
      ignoreHTTPSErrors: !!cfg.ignoreHTTPSErrors, serviceWorkers: 'block',
    });
    const page = await context.newPage();
    const errors = [];
    let requests = 0;
    page.on('request', () => { requests++; });
    page.on('requestfailed', (r) => errors.push('request failed: ' + r.url() + ': ' + (r.failure() || {}).errorText));
    page.on('pageerror', (e) => errors.push('page error: ' + String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
    await page.addInitScript(observeLCP);

    const resp = await page.goto(cfg.url, { waitUntil: 'load', timeout: Math.max(1000, deadline - Date.now()) });
    // Settle: until the LCP candidate has not changed for quietMs, at most settleMaxMs.
    const lcpNow = () => page.evaluate(() => JSON.stringify(window.__appforgePerf.lcp));
    const settleEnd = Math.min(Date.now() + cfg.settleMaxMs, deadline - 500);
    let last = await lcpNow();
    let changed = Date.now();
    while (Date.now() < settleEnd && Date.now() - changed < cfg.quietMs) {
      await page.waitForTimeout(50);
      const cur = await lcpNow();
      if (cur !== last) { last = cur; changed = Date.now(); }
    }
    const report = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const entry = (e) => ({
        url: e.name, initiator: e.initiatorType, status: e.responseStatus || 0,
        transferSize: e.transferSize || 0, encodedBodySize: e.encodedBodySize || 0,
        decodedBodySize: e.decodedBodySize || 0, startTime: e.startTime, duration: e.duration,
      });
      return {
        lcp: window.__appforgePerf.lcp,
        lcpError: window.__appforgePerf.error,
        domContentLoaded: nav ? nav.domContentLoadedEventEnd : 0,
        load: nav ? nav.loadEventEnd : 0,
        resources: (nav ? [entry(nav)] : []).concat(performance.getEntriesByType('resource').map(entry)),
      };
    });
    report.status = resp ? resp.status() : 0;
    report.networkRequests = requests;
    report.errors = errors;
    process.stdout.write(JSON.stringify(report) + '\n');
  } finally {
    await browser.close();
  }
}

main().catch((e) => { process.stderr.write(String((e && e.stack) || e) + '\n'); process.exit(1); });
