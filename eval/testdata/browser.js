// Loads report.html in headless Chromium with the network blocked and
// prints what the Go test checks: console errors, failed requests, the
// charts and their titles. Usage: node browser.js REPORT.html SHOT.png PROFILE_DIR
const { chromium } = require('playwright-core');

(async () => {
  const [file, shot, profile] = process.argv.slice(2);
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHURN_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    offline: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const out = { errors: [], requests: [], charts: 0, titles: [], verdict: '', width: 0 };
  try {
    // Nothing but the report itself may load.
    await ctx.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      out.requests.push(url);
      return route.abort();
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') out.errors.push(m.type() + ': ' + m.text()); });
    page.on('pageerror', (e) => out.errors.push('pageerror: ' + e.message));
    page.on('requestfailed', (r) => { if (!r.url().startsWith('file:')) out.requests.push(r.url()); });
    await page.goto('file://' + file, { waitUntil: 'load' });
    const info = await page.evaluate(() => ({
      charts: document.querySelectorAll('svg.chart').length,
      titles: [...document.querySelectorAll('svg.chart > title')].map((t) => t.textContent),
      verdict: (document.querySelector('#verdict .head') || {}).textContent || '',
      width: document.documentElement.scrollWidth,
      drawn: [...document.querySelectorAll('svg.chart')].filter((s) => s.getBBox().width > 100 && s.querySelectorAll('polyline,rect,circle').length > 0).length,
    }));
    Object.assign(out, info);
    await page.screenshot({ path: shot, fullPage: true });
  } finally {
    await ctx.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
