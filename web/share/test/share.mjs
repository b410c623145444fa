// Opens a shared recording's page in Chromium as its recipient would: no
// sign-in, only the link. Started by web/share/browser_test.go, which serves
// the backend and passes the link through the environment. It prints one
// JSON line of what the page showed and played, then waits for "revoked" on
// stdin and checks the audio and the page stop. Any failed check throws.

import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const require = createRequire(path.join(env('WEB_TOOLS_DIR'), 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

const shareURL = env('SHARE_URL');
const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  args: ['--autoplay-policy=no-user-gesture-required', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
});
const violations = [];
const page = await browser.newPage();
page.setDefaultTimeout(30_000);
page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('favicon')) violations.push(m.text()); });
page.on('pageerror', (e) => violations.push(String(e)));
try {
  const resp = await page.goto(shareURL);
  check(resp.status() === 200, `the page answers ${resp.status()}`);
  const name = (await page.locator('#name').textContent()).trim();
  check(await page.title() === name, 'the title is the name');
  const og = await page.locator('meta[property="og:title"]').getAttribute('content');
  check(og === name, `Open Graph carries the name (${og})`);

  // canplay fires on the player: the audio came through the redirect to
  // storage, which the page's CSP allows and nothing else.
  const played = await page.locator('#player').evaluate((a) => new Promise((resolve, reject) => {
    const done = () => resolve({ duration: a.duration, src: a.currentSrc });
    if (a.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) done();
    a.addEventListener('canplay', done, { once: true });
    a.addEventListener('error', () => reject(new Error(`player error ${a.error && a.error.code}`)), { once: true });
    a.load();
  }));
  await page.locator('#player').evaluate((a) => a.play());
  await page.waitForFunction(() => document.getElementById('player').currentTime > 0.2);
  const shown = {
    name,
    durationText: (await page.locator('#duration').textContent()).trim(),
    durationMs: Number(await page.locator('#duration').getAttribute('data-ms')),
    playerSeconds: played.duration,
    transcript: (await page.locator('#transcript p').count()) ? (await page.locator('#transcript p').textContent()).trim() : '',
  };
  check(violations.length === 0, `no console errors or CSP violations: ${violations.join('; ')}`);
  console.log(JSON.stringify(shown));

  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line !== 'revoked') continue;
    // The player asks again (a new load, as after a seek past what it
    // buffered): the share is checked, and there is nothing to play.
    const failed = await page.locator('#player').evaluate((a) => new Promise((resolve) => {
      a.addEventListener('canplay', () => resolve(false), { once: true });
      a.addEventListener('error', () => resolve(true), { once: true });
      a.src = a.getAttribute('src');
      a.load();
    }));
    check(failed, 'after revoke the audio no longer plays');
    const again = await page.reload();
    check(again.status() === 404, `after revoke the page answers ${again.status()}`);
    check(await page.locator('#gone').isVisible(), 'the not-available page shows');
    console.log('revoke seen');
    break;
  }
  rl.close();
  process.stdin.destroy();
} finally {
  await browser.close();
}
