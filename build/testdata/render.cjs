// Renders built apps in headless Chromium (playwright-core, Debian's chromium) and
// prints what each page shows, for build/esbuild_test.go to compare two builds of an app.
//
// stdin: [{name, base, paths: ["/", "/stats"], clicks: [{from: "/", link: "Stats", path: "/stats"}]}]
// stdout: {name: {"/": page, "click /stats": page}} where page is
//   {title, text, styles: ["tag.class display|color|…"], errors: [...]}
const { chromium } = require('playwright-core')

const props = [
  'display', 'position', 'color', 'background-color', 'font-family', 'font-size', 'font-weight',
  'line-height', 'margin', 'padding', 'border', 'border-radius', 'box-shadow', 'width', 'height',
  'gap', 'grid-template-columns', 'flex-direction', 'align-items', 'text-decoration-line',
  'outline-style', 'opacity', 'transform', 'animation-name', 'color-scheme',
]

async function settle(page) {
  await page.waitForLoadState('networkidle')
  await page.waitForFunction(() => {
    const root = document.getElementById('root')
    return root && root.children.length > 0 && !document.querySelector('.spinner')
  }, null, { timeout: 10000 })
}

async function capture(page, errors) {
  const shown = await page.evaluate((props) => {
    const styles = []
    for (const el of [document.documentElement, document.body, ...document.body.querySelectorAll('*')]) {
      if (el.tagName === 'SCRIPT') continue
      const cs = getComputedStyle(el)
      const name = el.tagName.toLowerCase() + [...el.classList].map((c) => '.' + c).join('')
      styles.push(name + ' ' + props.map((p) => cs.getPropertyValue(p)).join('|'))
    }
    return { title: document.title, text: document.body.innerText, styles, violations: window.__violations || [] }
  }, props)
  shown.errors = [...errors, ...shown.violations.map((v) => 'CSP violation: ' + v)]
  delete shown.violations
  errors.length = 0
  return shown
}

async function main() {
  let input = ''
  for await (const chunk of process.stdin) input += chunk
  const jobs = JSON.parse(input)
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] })
  const out = {}
  try {
    for (const job of jobs) {
      const context = await browser.newContext({ viewport: { width: 1000, height: 800 } })
      await context.addInitScript(() => {
        window.__violations = []
        document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI))
      })
      const page = await context.newPage()
      const errors = []
      page.on('pageerror', (e) => errors.push('page error: ' + e.message))
      page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()) })
      const pages = {}
      for (const p of job.paths) {
        await page.goto(job.base + p)
        await settle(page)
        pages[p] = await capture(page, errors)
      }
      for (const c of job.clicks || []) {
        await page.goto(job.base + c.from)
        await settle(page)
        await page.getByRole('link', { name: c.link, exact: true }).click()
        await page.waitForURL(job.base + c.path)
        await settle(page)
        pages['click ' + c.path] = await capture(page, errors)
      }
      out[job.name] = pages
      await context.close()
    }
  } finally {
    await browser.close()
  }
  process.stdout.write(JSON.stringify(out))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
