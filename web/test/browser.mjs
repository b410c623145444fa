// Drives the web companion in Chromium, as a person would: sign in, record,
// upload, wait for confirmation, play, upload a file (multipart), rename,
// delete, delete the account. Started by web/browser_test.go, which serves
// the app and the whole backend and passes everything through the
// environment. Any failed check throws. Before the account goes, a JSON
// summary line lets the Go test check the stored state; it answers
// "delete-account" on stdin.

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

const appURL = env('APP_URL');
const uploadName = env('UPLOAD_NAME');
const renamed = env('RENAMED');
const recordSeconds = Number(process.env.RECORD_SECONDS || '3');
const timeout = 30_000;

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  args: [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${env('FAKE_CAPTURE_WAV')}`,
    '--autoplay-policy=no-user-gesture-required',
    // Containers often run as root, where Chromium's sandbox cannot start.
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
  ],
});
const summary = {};
const page = await browser.newPage();
page.setDefaultTimeout(timeout);
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
page.on('dialog', (d) => d.accept());
try {
  const started = Date.now();
  await page.goto(appURL);

  // Sign in through the dev issuer, with the keyboard only.
  const who = page.getByLabel('Sign in as (development issuer)');
  await who.fill(env('SIGN_IN_AS'));
  await who.press('Enter');
  await page.locator('#app').waitFor({ state: 'visible' });
  check(await page.locator('#who-name').textContent() === env('SIGN_IN_AS'), 'the signed-in user is shown by name');

  // Record about three seconds from the fake microphone.
  await page.getByRole('button', { name: 'Record', exact: true }).click();
  await page.waitForFunction(() => document.getElementById('elapsed').textContent !== '0:00');
  const level = await page.locator('#level').evaluate((m) => new Promise((resolve) => {
    let peak = 0;
    const t0 = performance.now();
    const tick = () => {
      peak = Math.max(peak, m.value);
      if (performance.now() - t0 > 500) resolve(peak); else requestAnimationFrame(tick);
    };
    tick();
  }));
  check(level > 0.05, `the level meter moves (peak ${level})`);
  await page.waitForTimeout(recordSeconds * 1000 - 1000);
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await page.waitForFunction(() => document.getElementById('elapsed').dataset.ms);
  summary.recordedMs = Number(await page.locator('#elapsed').getAttribute('data-ms'));

  // It is uploaded, then confirmed: available, with the measured duration.
  const recRow = page.locator('#recordings tr[data-status="available"]').filter({ hasText: 'Recording ' });
  await recRow.first().waitFor();
  summary.recordingId = await recRow.first().getAttribute('data-id');
  summary.serverMs = Number(await recRow.first().getAttribute('data-duration-ms'));
  summary.recordingName = (await recRow.first().locator('td.name').textContent()).trim();
  check(Math.abs(summary.serverMs - summary.recordedMs) <= 500,
    `server duration ${summary.serverMs} ms within 0.5 s of the ${summary.recordedMs} ms recorded`);

  // Play it through the presigned GET.
  await recRow.first().getByRole('button', { name: /^Play / }).click();
  await page.waitForFunction(() => {
    const a = document.getElementById('audio');
    return a.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA && Number.isFinite(a.duration) && a.duration > 0;
  });
  summary.playerSeconds = await page.locator('#audio').evaluate((a) => a.duration);
  check(Math.abs(summary.playerSeconds * 1000 - summary.serverMs) <= 500,
    `the player's duration ${summary.playerSeconds} s matches the server's ${summary.serverMs} ms`);

  // A file through the file input: large enough to go up as a multipart upload.
  await page.getByLabel('Or choose audio files').setInputFiles(env('UPLOAD_FILE'));
  const fileRow = page.locator('#recordings tr[data-status="available"]').filter({ hasText: uploadName });
  await fileRow.waitFor({ timeout: 60_000 });
  summary.uploadId = await fileRow.getAttribute('data-id');

  // Rename it inline to a Korean name, from the keyboard.
  await fileRow.getByRole('button', { name: `Rename ${uploadName}` }).click();
  const input = page.getByLabel(`New name for ${uploadName}`);
  await input.fill(renamed);
  await input.press('Enter');
  const renamedRow = page.locator('#recordings tr').filter({ hasText: renamed });
  await renamedRow.waitFor();
  check((await renamedRow.locator('td.name').textContent()) === renamed, 'the Korean name displays as typed');

  // Delete the recording made in the browser.
  await recRow.first().getByRole('button', { name: /^Delete / }).click();
  await page.locator(`#recordings tr[data-id="${summary.recordingId}"]`).waitFor({ state: 'detached' });
  check(await page.locator('#player').isHidden(), 'the player of a deleted recording is gone');
  const said = await page.locator('#status').textContent();
  check(said.startsWith(`${summary.recordingName}: moved to the trash`), `the status line says what the delete did: ${said}`);

  check(await page.locator('#error').isHidden(), `no error shown (${await page.locator('#error').textContent()})`);
  await page.screenshot({ path: env('SCREENSHOT'), fullPage: true });
  check(consoleErrors.length === 0, `no console errors: ${consoleErrors.join(' | ')}`);
  summary.userId = await page.evaluate(() => JSON.parse(localStorage.getItem('recorder.session')).user.id);
  summary.seconds = (Date.now() - started) / 1000;
  console.log(JSON.stringify(summary));
  const { value } = await readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]().next();
  check(value === 'delete-account', `the Go test answered ${value}`);

  await page.getByRole('button', { name: 'Delete my account and all recordings' }).click();
  await page.locator('#sign-in').waitFor({ state: 'visible' });
  check(await page.evaluate(() => localStorage.getItem('recorder.session')) === null, 'the session is forgotten');
  check((await page.locator('#status').textContent()).includes('deleted'), 'the page says the account is deleted');
  check(await page.locator('#error').isHidden(), `no error shown (${await page.locator('#error').textContent()})`);
  console.log('account deleted');
} catch (err) {
  await page.screenshot({ path: env('SCREENSHOT'), fullPage: true }).catch(() => {});
  console.error(`error text on the page: ${await page.locator('#error').textContent().catch(() => '?')}`);
  console.error(`console: ${consoleErrors.join(' | ')}`);
  throw err;
} finally {
  await browser.close();
}
process.exit(0); // stdin's reader would keep the process alive
