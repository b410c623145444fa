// Records webm_chromium_mediarecorder.webm: what Chromium's MediaRecorder
// writes (unknown-size Segment and Clusters, no Duration, no Cues), from a
// generated tone through Chromium's fake microphone, for 2.5 s with a 1 s
// timeslice as the web companion records.
//   node chromium-mediarecorder.mjs <web-tools dir> <chromium> <capture.wav> <out.webm>
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const [tools, exe, wav, out] = process.argv.slice(2);
const { chromium } = createRequire(path.join(tools, 'node_modules', 'x.js'))('playwright-core');
// mediaDevices needs a secure context: a loopback page, not about:blank.
const srv = http.createServer((_, res) => res.end('<!doctype html>')).listen(0, '127.0.0.1');
await new Promise((r) => srv.once('listening', r));
const browser = await chromium.launch({ executablePath: exe, args: ['--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`, '--no-sandbox'] });
const page = await browser.newPage();
await page.goto(`http://127.0.0.1:${srv.address().port}/`);
const b64 = await page.evaluate(async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const mr = new MediaRecorder(stream, { mimeType: 'audio/webm;codecs=opus' });
  const chunks = [];
  mr.ondataavailable = (e) => chunks.push(e.data);
  const stopped = new Promise((r) => { mr.onstop = r; });
  mr.start(1000);
  await new Promise((r) => setTimeout(r, 2500));
  mr.stop();
  await stopped;
  const buf = new Uint8Array(await new Blob(chunks).arrayBuffer());
  let s = '';
  for (const b of buf) s += String.fromCharCode(b);
  return btoa(s);
});
writeFileSync(out, Buffer.from(b64, 'base64'));
await browser.close();
srv.close();
