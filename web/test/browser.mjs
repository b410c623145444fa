// Drives the web companion in Chromium, as a person would, at phone size
// (390×844, with a 360 px check) and desktop size (1280×800). Started by
// web/browser_test.go, which serves the app and the whole backend and
// passes everything through the environment. Any failed check throws.
//
// Every screen is checked the same way (screen()): axe-core finds no
// violation, the page needs no sideways scrolling at 360 px, every control
// can be reached with Tab and, at phone size, is at least 44 px square to
// tap; a screenshot is saved per screen and size.
//
// Phone: sign in from the keyboard, record (the button says Stop), the
// recording is confirmed, plays and downloads; an empty file is refused
// in words naming it; with the network off a recording waits in
// IndexedDB, survives a reload (the page opens from the service worker)
// and arrives when the network returns; delete asks in a dialog, Undo
// restores, the trash restores and deletes for good.
// Desktop: a three-part upload interrupted by a reload resumes without
// sending again the part storage holds; rename from the keyboard; sort;
// cancel an upload. Before the account goes, a JSON summary line lets the
// Go test check the stored state; it answers "delete-account" on stdin.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const require = createRequire(path.join(env('WEB_TOOLS_DIR'), 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const appURL = env('APP_URL');
const uploadName = env('UPLOAD_NAME');
const renamed = env('RENAMED');
const shots = env('SCREENSHOT_DIR');
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

const consoleErrors = [];
// While the test has the network off, failed loads are what it expects.
let offline = false;
// Once the desktop signs the phone out, the phone's refused requests are
// what the test expects.
let phoneSignedOut = false;
async function newPage(options) {
  const context = await browser.newContext({ timezoneId: process.env.TZ, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('console', (m) => { if (process.env.WEB_DEBUG) console.error(`[${options.name}] ${m.type()}: ${m.text()}`); if (m.type() === 'error' && !(offline && m.text().includes('net::ERR_INTERNET_DISCONNECTED')) && !(phoneSignedOut && options.name === 'phone' && m.text().includes('status of 401'))) consoleErrors.push(`${options.name}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`${options.name}: ${e}`));
  page.on('dialog', (d) => { consoleErrors.push(`${options.name}: a browser dialog: ${d.message()}`); d.dismiss(); });
  page.sizeName = options.name;
  return { context, page };
}

// axe runs axe-core (injected through the DevTools protocol, which the
// page's CSP does not govern) and fails on any violation.
async function axe(page, screenName) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`));
  check(violations.length === 0, `axe on ${screenName} at ${page.sizeName}: ${violations.join('; ')}`);
}

// noSidewaysScroll sets the viewport to 360 px wide and checks that
// nothing is wider than the screen, then restores it.
async function noSidewaysScroll(page, screenName) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 360, height: size.height });
  const { scroll, client, widest } = await page.evaluate(() => {
    const de = document.documentElement;
    let widest = '';
    for (const e of document.querySelectorAll('body *')) {
      const r = e.getBoundingClientRect();
      if (r.width && r.right > de.clientWidth + 0.5) { widest = `${e.tagName.toLowerCase()}#${e.id}.${e.className} (${Math.round(r.right)} px)`; break; }
    }
    return { scroll: de.scrollWidth, client: de.clientWidth, widest };
  });
  await page.setViewportSize(size);
  check(scroll <= client && !widest, `${screenName} at 360 px is ${scroll} px wide (screen ${client}); ${widest}`);
}

// The controls a person can use on the screen as it is.
const CONTROLS = 'button, a[href], input, select, textarea';

// keyboardReaches presses Tab through the page and checks every visible,
// enabled control got the focus (a visually hidden file input counts:
// its label is what shows).
async function keyboardReaches(page, screenName) {
  const total = await page.evaluate((sel) => {
    let i = 0;
    for (const e of document.querySelectorAll(sel)) {
      delete e.dataset.kb;
      const shown = e.checkVisibility() || (e.type === 'file' && e.labels?.[0]?.checkVisibility());
      if (shown && !e.disabled) e.dataset.kb = String(i++);
    }
    document.activeElement?.blur();
    return i;
  }, CONTROLS);
  const reached = new Set();
  for (let presses = 0; presses < total + 15 && reached.size < total; presses++) {
    await page.keyboard.press('Tab');
    const kb = await page.evaluate(() => document.activeElement?.dataset.kb);
    if (kb !== undefined) reached.add(kb);
  }
  const missed = await page.evaluate(({ sel, reached }) => [...document.querySelectorAll(sel)]
    .filter((e) => e.dataset.kb !== undefined && !reached.includes(e.dataset.kb))
    .map((e) => e.getAttribute('aria-label') || e.textContent.trim() || e.id), { sel: CONTROLS, reached: [...reached] });
  check(missed.length === 0, `Tab never reaches on ${screenName} at ${page.sizeName}: ${missed.join(', ')}`);
}

// tapTargets checks every visible control is at least 44×44 CSS px (the
// file input's label is what is tapped).
async function tapTargets(page, screenName) {
  const small = await page.evaluate((sel) => [...document.querySelectorAll(`${sel}, label.button`)]
    .filter((e) => e.checkVisibility() && !(e.type === 'file'))
    .map((e) => ({ e, r: e.getBoundingClientRect() }))
    .filter(({ r }) => r.width < 44 || r.height < 44)
    .map(({ e, r }) => `${e.getAttribute('aria-label') || e.textContent.trim() || e.id} ${Math.round(r.width)}×${Math.round(r.height)}`), CONTROLS);
  check(small.length === 0, `tap targets under 44 px on ${screenName}: ${small.join(', ')}`);
}

async function screen(page, screenName, { keyboard = true } = {}) {
  await axe(page, screenName);
  await noSidewaysScroll(page, screenName);
  if (keyboard) await keyboardReaches(page, screenName);
  if (page.sizeName === 'phone') await tapTargets(page, screenName);
  await page.screenshot({ path: path.join(shots, `web-${screenName}-${page.sizeName}.png`), fullPage: true });
}

async function signIn(page) {
  await page.goto(appURL);
  const who = page.getByLabel('Sign in as (development issuer)');
  await who.waitFor();
  return who;
}

async function signInWithKeyboard(page) {
  const who = await signIn(page);
  await who.fill(env('SIGN_IN_AS'));
  await who.press('Enter');
  await page.locator('#view-recordings').waitFor({ state: 'visible' });
  check(await page.locator('#who-name').textContent() === env('SIGN_IN_AS'), 'the signed-in user is shown by name');
}

const statusLine = (page) => page.locator('#status').textContent();
const card = (page, status, text) => page.locator(`#recordings li[data-status="${status}"]`).filter({ hasText: text });

async function record(page, seconds, tap) {
  await page.getByRole('button', { name: 'Record', exact: true })[tap]();
  // While recording, the same button says Stop.
  const stop = page.getByRole('button', { name: 'Stop', exact: true });
  await stop.waitFor();
  await page.waitForFunction(() => document.getElementById('elapsed').textContent !== '0:00');
  await page.waitForTimeout(seconds * 1000 - 1000);
  await page.evaluate(() => { delete document.getElementById('elapsed').dataset.ms; });
  await stop[tap]();
  await page.waitForFunction(() => document.getElementById('elapsed').dataset.ms);
  const ms = Number(await page.locator('#elapsed').getAttribute('data-ms'));
  // The clock then shows the length rounded to the second, as the list does.
  const shown = await page.locator('#elapsed').textContent();
  check(shown === `0:${String(Math.round(ms / 1000)).padStart(2, '0')}`, `a ${ms} ms recording shows as ${shown}`);
  check(await page.getByRole('button', { name: 'Record', exact: true }).isVisible(), 'the button says Record again');
  return ms;
}


// searchFinds searches the page for words and checks the result list
// names the recording called want; it plays the result.
async function searchFinds(page, words, want, act) {
  await page.getByLabel('Search names and transcripts').fill(words);
  await page.getByLabel('Search names and transcripts').press('Enter');
  const found = page.locator('#result-list li').filter({ hasText: want });
  await found.waitFor();
  await screen(page, 'search');
  await found.getByRole('button', { name: `Play ${want}` })[act]();
  await page.waitForFunction(() => document.getElementById('audio').readyState >= HTMLMediaElement.HAVE_FUTURE_DATA);
  check((await page.locator('#player-name').textContent()) === want, 'the found recording plays');
  await page.locator('#transcript-status').filter({ hasText: /\S/ }).waitFor();
  await page.getByRole('button', { name: 'Clear' })[act]();
  await page.locator('#results').waitFor({ state: 'hidden' });
}

// shareAndOpen shares the recording called name from its card, opens the
// link in a new tab (the public page), plays it there and answers the link.
async function shareAndOpen(page, context, name, act) {
  await card(page, 'available', name).getByRole('button', { name: `Share ${name}` })[act]();
  await page.waitForFunction(() => document.getElementById('share-link').value.includes('/s/'));
  const link = await page.locator('#share-link').inputValue();
  const visitor = await context.newPage();
  await visitor.goto(link);
  check((await visitor.locator('#name').textContent()) === name, 'the share page names the recording');
  await visitor.locator('#player').evaluate((a) => a.play());
  await visitor.waitForFunction(() => { const a = document.getElementById('player'); return a.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA && !a.paused; });
  await visitor.close();
  return link;
}

// revokeShare revokes the share of name in the Shares view; the link then
// opens the page every dead link gets.
async function revokeShare(page, name, link, act) {
  await page.getByRole('link', { name: 'Shares' })[act]();
  const row = page.locator('#shares li').filter({ hasText: name });
  await row.waitFor();
  check((await row.textContent()).includes('1 view'), `the share counts the visit: ${await row.textContent()}`);
  await screen(page, 'shares');
  await row.getByRole('button', { name: `Revoke the link to ${name}` })[act]();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke link' })[act]();
  await row.waitFor({ state: 'detached' });
  const status = (await page.request.get(link)).status();
  check(status === 404, `a revoked link answers ${status}`);
}

// The Go test answers on stdin, one line per question.
const answers = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

// transcribed asks the Go test to store a finished transcript of the
// recording (the test stack runs no engine) and waits for its answer.
async function transcribed(page, recordingId) {
  const userId = await page.evaluate(() => JSON.parse(localStorage.getItem('recorder.session')).user.id);
  console.log(JSON.stringify({ transcribe: { userId, recordingId } }));
  const { value } = await answers.next();
  check(value === 'transcribed', `the Go test answered ${value}`);
}

// playsFrom checks the player plays the recording near seconds.
async function playsFrom(page, seconds) {
  await page.waitForFunction((s) => {
    const a = document.getElementById('audio');
    return !a.paused && a.currentTime >= s - 0.05 && a.currentTime < s + 1;
  }, seconds);
}

const summary = {};
let phone;
let desktop;
try {
  const started = Date.now();

  // ---- phone
  phone = await newPage({
    name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    // A phone's browser, so the sessions list names it as one.
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  });
  let page = phone.page;
  await signIn(page);
  await screen(page, 'sign-in');
  await signInWithKeyboard(page);
  // The service worker controls the page before anything goes offline.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  const cdp = await phone.context.newCDPSession(page);
  // Playwright's contexts are incognito ones, where Chromium installs
  // nothing; any other reason would be the page's.
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  const notInstallable = installabilityErrors.filter((e) => e.errorId !== 'in-incognito');
  check(notInstallable.length === 0, `installable: ${JSON.stringify(notInstallable)}`);

  // Record about three seconds from the fake microphone. The page learns
  // of the upload's confirmation from the change feed (a long poll), not
  // by listing again.
  await page.locator('#empty').waitFor({ state: 'visible' });
  const asked = { lists: 0, longPolls: 0 };
  const countRequests = (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/v1/recordings' && r.method() === 'GET') asked.lists++;
    if (u.pathname === '/v1/changes' && u.searchParams.has('wait')) asked.longPolls++;
  };
  page.on('request', countRequests);
  summary.recordedMs = await record(page, recordSeconds, 'tap');
  const recCard = card(page, 'available', 'Recording ');
  await recCard.first().waitFor();
  page.off('request', countRequests);
  check(asked.lists === 0 && asked.longPolls >= 1, `while the upload was pending the page listed ${asked.lists} times and long-polled the feed ${asked.longPolls} times`);
  summary.recordingId = await recCard.first().getAttribute('data-id');
  summary.serverMs = Number(await recCard.first().getAttribute('data-duration-ms'));
  summary.recordingName = (await recCard.first().locator('.name').textContent()).trim();
  check(Math.abs(summary.serverMs - summary.recordedMs) <= 500,
    `server duration ${summary.serverMs} ms within 0.5 s of the ${summary.recordedMs} ms recorded`);
  await page.waitForFunction((name) => document.getElementById('status').textContent.startsWith(`${name} is uploaded and ready`), summary.recordingName);

  // Play it through the presigned GET.
  await recCard.first().getByRole('button', { name: /^Play / }).tap();
  await page.waitForFunction(() => {
    const a = document.getElementById('audio');
    return a.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA && Number.isFinite(a.duration) && a.duration > 0;
  });
  summary.playerSeconds = await page.locator('#audio').evaluate((a) => a.duration);
  check(Math.abs(summary.playerSeconds * 1000 - summary.serverMs) <= 500,
    `the player's duration ${summary.playerSeconds} s matches the server's ${summary.serverMs} ms`);

  // Download saves the file under its name.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    recCard.first().getByRole('button', { name: /^Download / }).tap(),
  ]);
  check(download.suggestedFilename() === summary.recordingName, `the download is named ${download.suggestedFilename()}`);
  await download.cancel();

  // An empty file is refused in words that name it.
  const emptyName = path.basename(env('EMPTY_FILE'));
  await page.getByLabel('Choose audio files').setInputFiles(env('EMPTY_FILE'));
  await page.locator('#error').filter({ hasText: emptyName }).waitFor();
  const refusal = await page.locator('#error').textContent();
  check(refusal.includes(`“${emptyName}” is empty`) && !refusal.includes('size_bytes'), `the refusal of an empty file: ${refusal}`);

  // With the network off a recording waits on the device, through a reload.
  offline = true;
  await phone.context.setOffline(true);
  await page.locator('#offline').waitFor({ state: 'visible' });
  const offlineMs = await record(page, 3, 'tap');
  const waiting = page.locator('#uploads li[data-state="offline"]');
  await waiting.waitFor();
  summary.offlineName = (await waiting.locator('.name').textContent()).trim();
  check((await statusLine(page)).includes('uploads when the network returns'), `offline, the status says: ${await statusLine(page)}`);
  const reloaded = await page.reload();
  check(reloaded.fromServiceWorker(), 'offline, the service worker answers the reload');
  // The cache holds the shell and nothing else: no API answer, no
  // presigned URL.
  const cached = await page.evaluate(async () => {
    const urls = [];
    for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) urls.push(r.url);
    return urls;
  });
  check(cached.some((u) => u.endsWith('/app/app.js')) && cached.every((u) => new URL(u).origin === new URL(appURL).origin && new URL(u).pathname.startsWith('/app/')),
    `the cache holds the shell only: ${cached.join(' ')}`);
  await page.locator('#view-recordings').waitFor({ state: 'visible' });
  await page.locator('#uploads li[data-state="offline"]').filter({ hasText: summary.offlineName }).waitFor();
  await screen(page, 'offline');
  await phone.context.setOffline(false);
  await page.waitForTimeout(100);
  offline = false;
  const arrived = card(page, 'available', summary.offlineName);
  await arrived.waitFor();
  summary.offlineId = await arrived.getAttribute('data-id');
  const offlineServerMs = Number(await arrived.getAttribute('data-duration-ms'));
  check(Math.abs(offlineServerMs - offlineMs) <= 500, `the offline recording arrived whole: ${offlineServerMs} ms of the ${offlineMs} ms recorded`);
  await page.locator('#uploads li').waitFor({ state: 'detached' });
  check(await page.locator('#offline').isHidden(), 'the offline notice is gone');

  // Delete asks in a dialog that names the trash and its 30 days; Undo.
  const remove = () => card(page, 'available', summary.recordingName).getByRole('button', { name: /^Delete / }).tap();
  await remove();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  check((await dialog.textContent()).includes('trash, where you can restore it for 30 days'), `the dialog says: ${await dialog.textContent()}`);
  await screen(page, 'delete-dialog', { keyboard: false });
  await dialog.getByRole('button', { name: 'Move to trash' }).tap();
  await page.locator(`#recordings li[data-id="${summary.recordingId}"]`).waitFor({ state: 'detached' });
  check((await statusLine(page)).startsWith(`${summary.recordingName}: moved to the trash (restorable until`), `the status line: ${await statusLine(page)}`);
  check(await page.locator('#player').isHidden(), 'the player of a deleted recording is gone');
  await page.getByRole('button', { name: `Undo delete of ${summary.recordingName}` }).tap();
  await card(page, 'available', summary.recordingName).waitFor();

  // Through the trash: delete, restore, delete again, delete for good.
  await remove();
  await dialog.getByRole('button', { name: 'Move to trash' }).tap();
  await page.locator(`#recordings li[data-id="${summary.recordingId}"]`).waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'Trash' }).tap();
  const trashed = page.locator(`#trash li[data-id="${summary.recordingId}"]`);
  await trashed.waitFor();
  check((await trashed.textContent()).includes('Deleted for good on'), 'the trash says when');
  await screen(page, 'trash');
  await trashed.getByRole('button', { name: `Restore ${summary.recordingName}` }).tap();
  await trashed.waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'Recordings' }).tap();
  await card(page, 'available', summary.recordingName).waitFor();
  await remove();
  await dialog.getByRole('button', { name: 'Move to trash' }).tap();
  await page.locator(`#recordings li[data-id="${summary.recordingId}"]`).waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'Trash' }).tap();
  await trashed.getByRole('button', { name: `Delete for good ${summary.recordingName}` }).tap();
  await dialog.getByRole('button', { name: 'Delete for good' }).tap();
  await trashed.waitFor({ state: 'detached' });
  check((await statusLine(page)) === `${summary.recordingName}: deleted for good.`, `the status line: ${await statusLine(page)}`);
  await page.locator('#trash-empty').waitFor({ state: 'visible' });

  // Search finds the recording by name; a share link plays on the public
  // page until it is revoked. Here the clipboard is refused: the link is
  // shown to copy by hand.
  await page.getByRole('link', { name: 'Recordings' }).tap();
  await arrived.waitFor();
  await searchFinds(page, 'Recording', summary.offlineName, 'tap');

  // What was said: a search by a spoken word plays from its moment, and
  // a tap on a transcript line plays from that line.
  await transcribed(page, summary.offlineId);
  await page.getByLabel('Search names and transcripts').fill('brown fox');
  await page.getByLabel('Search names and transcripts').press('Enter');
  const match = page.locator(`#result-list li[data-id="${summary.offlineId}"] .match`);
  await match.waitFor();
  check((await match.textContent()).startsWith('0:01 the quick brown fox') || (await match.textContent()).startsWith('0:02 the quick brown fox'), `the match shows its moment: ${await match.textContent()}`);
  await match.tap();
  await playsFrom(page, 1.5);
  await page.locator('#transcript li').nth(1).waitFor();
  check((await page.locator('#transcript-status').textContent()).includes('Tap a line'), 'the transcript says how to use it');
  await screen(page, 'transcript');
  await page.locator('#transcript li').first().getByRole('button').tap();
  await playsFrom(page, 0);
  await page.getByRole('button', { name: 'Clear' }).tap();
  await page.evaluate(() => { navigator.clipboard.writeText = () => Promise.reject(new DOMException('refused', 'NotAllowedError')); });
  const phoneLink = await shareAndOpen(page, phone.context, summary.offlineName, 'tap');
  check(await page.locator('#share-box').isVisible(), 'a refused clipboard shows the link');
  check((await statusLine(page)).includes('copy it from the box'), `the status line: ${await statusLine(page)}`);
  await screen(page, 'share-link');
  await page.getByRole('button', { name: 'Done' }).tap();
  await revokeShare(page, summary.offlineName, phoneLink, 'tap');
  await page.getByRole('link', { name: 'Devices' }).tap();
  await page.locator('#devices li[data-current]').waitFor();
  await screen(page, 'devices');
  await page.getByRole('link', { name: 'Export' }).tap();
  await page.locator('#export-start').waitFor();
  await screen(page, 'exports');

  await page.getByRole('link', { name: 'Account' }).tap();
  await page.locator('#storage-text').filter({ hasText: / used/ }).waitFor();
  check(/^\d+ of \d+ transcription minutes used this month\.$/.test(await page.locator('#minutes-text').textContent()),
    `the account shows transcription minutes: ${await page.locator('#minutes-text').textContent()}`);
  await screen(page, 'account');
  await page.getByRole('link', { name: 'Recordings' }).tap();
  await arrived.waitFor();
  check((await page.locator('#quota-line').textContent()).includes(' used'), 'the quota line shows use');
  await screen(page, 'recordings');

  // ---- desktop (without the service worker, so every storage request is
  // seen and can be held by page.route)
  desktop = await newPage({
    name: 'desktop', viewport: { width: 1280, height: 800 }, serviceWorkers: 'block', permissions: ['clipboard-read', 'clipboard-write'],
  });
  page = desktop.page;
  await signIn(page);
  await screen(page, 'sign-in');
  await signInWithKeyboard(page);
  const row = card(page, 'available', summary.offlineName);
  await row.waitFor();
  const box = await row.boundingBox();
  check(box.width >= 1100 && box.height < 100, `at 1280 px a recording is one wide row (${box.width}×${box.height})`);

  // A three-part upload, interrupted by a reload once storage holds part 1.
  const puts = [];
  let holding = true;
  const held = [];
  await page.route((url) => url.searchParams.has('partNumber'), (route) => {
    const n = Number(new URL(route.request().url()).searchParams.get('partNumber'));
    puts.push({ n, afterReload: !holding });
    if (holding && n !== 1) held.push(route);
    else route.continue();
  });
  const part1 = page.waitForResponse((r) => r.request().method() === 'PUT' && new URL(r.url()).searchParams.get('partNumber') === '1');
  await page.getByLabel('Choose audio files').setInputFiles(env('UPLOAD_FILE'));
  check((await part1).ok(), 'storage took part 1');
  const uploadRow = page.locator('#uploads li').filter({ hasText: uploadName });
  await page.waitForFunction(() => Number.parseInt(document.querySelector('#uploads .pct')?.textContent, 10) >= 40);
  const pct = await uploadRow.locator('.pct').textContent();
  check(/^\d{1,2}%$/.test(pct), `the upload shows its percentage: ${pct}`);
  await screen(page, 'uploading');
  holding = false;
  await page.reload();
  for (const r of held) await r.abort().catch(() => {});
  const fileCard = card(page, 'available', uploadName);
  await fileCard.waitFor({ timeout: 60_000 });
  summary.uploadId = await fileCard.getAttribute('data-id');
  const after = puts.filter((p) => p.afterReload).map((p) => p.n).sort();
  check(JSON.stringify(after) === '[2,3]', `after the reload the page sent parts ${JSON.stringify(after)}, want [2,3] (part 1 was held)`);
  summary.partPuts = puts;
  await page.unroute((url) => url.searchParams.has('partNumber'));

  // Rename it inline to a Korean name, from the keyboard.
  await fileCard.getByRole('button', { name: `Rename ${uploadName}` }).press('Enter');
  const input = page.getByLabel(`New name for ${uploadName}`);
  await input.fill(renamed);
  // The list is drawn afresh meanwhile, as a change from the feed draws it
  // (here the online event lists again): what is being typed stays.
  const listed = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/recordings' && r.request().method() === 'GET');
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await listed;
  await page.waitForTimeout(300);
  check(await input.count() === 1 && await input.inputValue() === renamed && await input.evaluate((e) => e === document.activeElement),
    'the rename being typed outlives a redraw of the list');
  await input.press('Enter');
  await card(page, 'available', renamed).waitFor();
  check((await card(page, 'available', renamed).locator('.name').textContent()) === renamed, 'the Korean name displays as typed');

  // Sort by name and by duration.
  const names = () => page.locator('#recordings li .name').allTextContents();
  await page.getByLabel('Sort by').selectOption('name');
  const byName = await names();
  check(JSON.stringify(byName) === JSON.stringify([...byName].sort(new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' }).compare)), `by name: ${byName}`);
  await page.getByLabel('Sort by').selectOption('duration');
  check((await names())[0] === renamed, `the longest first: ${await names()}`);
  await page.getByLabel('Sort by').selectOption('date');
  check((await names())[0] === summary.offlineName, `the newest first: ${await names()}`);

  // Cancel an upload while storage has not answered.
  const smallName = path.basename(env('SMALL_FILE'));
  let putSeen;
  const putStarted = new Promise((resolve) => { putSeen = resolve; });
  await page.route((url) => url.pathname.includes('/recordings/') && url.port !== new URL(appURL).port, (route) => {
    if (route.request().method() === 'PUT') putSeen(); else route.continue();
  });
  await page.getByLabel('Choose audio files').setInputFiles(env('SMALL_FILE'));
  await putStarted;
  await page.getByRole('button', { name: `Cancel upload of ${smallName}` }).click();
  await page.locator('#uploads li').filter({ hasText: smallName }).waitFor({ state: 'detached' });
  await page.waitForFunction((n) => document.getElementById('status').textContent === `Upload of ${n} cancelled; nothing was kept.`, smallName);
  await page.reload();
  await card(page, 'available', renamed).waitFor();
  check(await page.locator('#recordings li').filter({ hasText: smallName }).count() === 0, 'the cancelled upload left no recording');
  check(await page.locator('#uploads li').count() === 0, 'the cancelled upload is not resumed');

  await screen(page, 'recordings');

  // Search and share at desktop size, where the clipboard is allowed.
  await searchFinds(page, renamed.split(' ')[0], renamed, 'click');
  const deskLink = await shareAndOpen(page, desktop.context, renamed, 'click');
  check(await page.locator('#share-box').isHidden(), 'a copied link needs no box');
  check(await page.evaluate(() => navigator.clipboard.readText()) === deskLink, 'the link is on the clipboard');
  await revokeShare(page, renamed, deskLink, 'click');

  // The phone is another device of the same account: it is listed, and
  // signed out from here.
  await page.getByRole('link', { name: 'Devices' }).click();
  const phoneRow = page.locator('#devices li:not([data-current])');
  await phoneRow.waitFor();
  check((await page.locator('#devices li[data-current]').textContent()).includes('this device'), 'this device is marked');
  check((await phoneRow.textContent()).includes('Android'), `the phone is named from its user agent: ${await phoneRow.textContent()}`);
  await screen(page, 'devices');
  phoneSignedOut = true;
  await phoneRow.getByRole('button', { name: /^Sign out / }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Sign out device' }).click();
  await phoneRow.waitFor({ state: 'detached' });
  check(await page.locator('#sign-out-others').isHidden(), 'no other device is left to sign out');
  // The phone finds out by itself: its next read of the change feed is
  // refused, and so is the refresh.
  const phoneNotices = phone.page.locator('#sign-in').waitFor({ state: 'visible', timeout: 25_000 });

  // Download everything: the archive is built, then downloaded.
  await page.getByRole('link', { name: 'Export' }).click();
  await page.getByRole('button', { name: 'Download everything' }).click();
  await page.locator('#export-link').waitFor({ state: 'visible', timeout: 60_000 });
  await screen(page, 'exports');
  const [archive] = await Promise.all([page.waitForEvent('download'), page.locator('#export-link').click()]);
  check(/^recordings-\d{4}-\d{2}-\d{2}\.zip$/.test(archive.suggestedFilename()), `the archive is named ${archive.suggestedFilename()}`);
  summary.archiveBytes = fs.statSync(await archive.path()).size;
  await phoneNotices;
  check((await statusLine(phone.page)).includes('sign in again'), `the signed-out phone says: ${await statusLine(phone.page)}`);

  await page.getByRole('link', { name: 'Trash' }).click();
  await page.locator('#trash-empty').waitFor({ state: 'visible' });
  await screen(page, 'trash');
  await page.getByRole('link', { name: 'Account' }).click();
  await page.locator('#storage-text').filter({ hasText: / used/ }).waitFor();
  await screen(page, 'account');

  check(await phone.page.locator('#error').isHidden() || (await phone.page.locator('#error').textContent()).includes(emptyName), 'no other error on the phone');
  check(await page.locator('#error').isHidden(), `no error shown (${await page.locator('#error').textContent()})`);
  check(consoleErrors.length === 0, `no console errors: ${consoleErrors.join(' | ')}`);
  summary.userId = await page.evaluate(() => JSON.parse(localStorage.getItem('recorder.session')).user.id);
  summary.seconds = (Date.now() - started) / 1000;
  console.log(JSON.stringify(summary));
  const { value } = await answers.next();
  check(value === 'delete-account', `the Go test answered ${value}`);

  await page.getByRole('button', { name: 'Delete my account and all recordings' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete my account' }).click();
  await page.locator('#sign-in').waitFor({ state: 'visible' });
  check(await page.evaluate(() => localStorage.getItem('recorder.session')) === null, 'the session is forgotten');
  check((await statusLine(page)).includes('deleted'), 'the page says the account is deleted');
  check(await page.locator('#error').isHidden(), `no error shown (${await page.locator('#error').textContent()})`);
  console.log('account deleted');
} catch (err) {
  for (const s of [phone, desktop]) {
    if (!s) continue;
    await s.page.screenshot({ path: path.join(shots, `web-failed-${s.page.sizeName}.png`), fullPage: true }).catch(() => {});
    console.error(`${s.page.sizeName}: error text on the page: ${await s.page.locator('#error').textContent().catch(() => '?')}; status: ${await statusLine(s.page).catch(() => '?')}`);
  }
  console.error(`console: ${consoleErrors.join(' | ')}`);
  throw err;
} finally {
  await browser.close();
}
process.exit(0); // stdin's reader would keep the process alive
