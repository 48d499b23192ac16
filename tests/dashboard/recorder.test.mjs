// The dashboard as users meet it: served by the real `sealtrace server` (over
// TLS, with the certificate `sealtrace server init` made), a real recorder
// (`sealtrace agent`, enrolled with `sealtrace enroll`, replaying typing and
// pointer motion at real speed) and Debian's chromium driven by playwright-core.
//
// The contributor signs in with the token enrolment gave them, pauses from the
// dashboard, the recorder follows (its own status says "paused" and nothing it
// captured during the pause reaches the vault), resumes, and then downloads
// their own data from the dashboard to check exactly that.
//
//   SEALTRACE_BIN=<sealtrace> CHROMIUM=/usr/bin/chromium node --test recorder.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
const BIN = process.env.SEALTRACE_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];

let work, vaultDir, server, url, browser, agent;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowUs = () => Date.now() * 1000;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(args, log) {
  try {
    return execFileSync(BIN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`sealtrace ${args.join(' ')} failed: ${e.stdout}${e.stderr}` + (log || ''));
  }
}

async function startVault() {
  const port = await freePort();
  server = spawn(BIN, ['server', '--data', vaultDir, '--listen', `127.0.0.1:${port}`,
    '--checkpoint-seconds', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errText = '';
  server.stderr.on('data', (d) => { errText += d; });
  const rl = createInterface({ input: server.stdout });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('vault did not start: ' + errText)), 30000);
    server.on('exit', (code) => reject(new Error(`vault exited with ${code}: ${errText}`)));
    rl.on('line', (line) => {
      const m = line.match(/listening on (https:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        // Passkeys are bound to the host name localhost (the vault's --rp-id).
        resolve(m[1].replace('127.0.0.1', 'localhost'));
      }
    });
  });
}

// Typing in short runs (Return ends each run, so the privacy gate releases the
// keys at once) and a zig-zag pointer, one event every 20 ms for 10 minutes.
function writeReplay(path) {
  const lines = [];
  for (let i = 0; i < 30000; ++i) {
    const e = { t_us: String(i * 20000) };
    if (i % 3 === 2) {
      e.pointer = { kind: 'MOVE', x: (i % 6) * 100 + 50, y: (Math.floor(i / 3) % 2) * 300 + 100 };
    } else if (i % 30 === 0) {
      e.key = { down: i % 2 === 0, keysym: 0xff0d, keycode: 36 };
    } else {
      e.key = { down: i % 2 === 0, keysym: 0x61, keycode: 38 };
      if (i % 2 === 0) e.key.text = 'a';
    }
    lines.push(JSON.stringify(e));
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

function agentState(statusFile) {
  try {
    return JSON.parse(readFileSync(statusFile, 'utf8')).state || '';
  } catch {
    return '';
  }
}

async function waitFor(pred, maxMs) {
  const t0 = Date.now();
  while (Date.now() - t0 < maxMs) {
    if (await pred()) return (Date.now() - t0) / 1000;
    await sleep(100);
  }
  return -1;
}

before(async () => {
  assert.ok(BIN, 'SEALTRACE_BIN must name the sealtrace binary');
  work = mkdtempSync(join(tmpdir(), 'sealtrace-dash-rec-'));
  vaultDir = join(work, 'vault');
  run(['server', 'init', '--data', vaultDir]);
  url = await startVault();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
});

after(async () => {
  if (agent && agent.exitCode === null) agent.kill('SIGKILL');
  if (browser) await browser.close();
  if (server) {
    server.removeAllListeners('exit');
    server.kill('SIGTERM');
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the vault address leads to the dashboard sign-in, over TLS', async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const res = await page.goto(url + '/');
  assert.equal(res.status(), 200);
  assert.match(page.url(), /\/dashboard\/login$/);
  assert.ok(page.url().startsWith('https://'));
  await context.close();
});

test('pause and resume in the dashboard: the running recorder follows', async () => {
  const root = join(work, 'pat');
  mkdirSync(root, { recursive: true });
  const cfg = join(root, 'agent.toml');
  const enrolled = run(['enroll', '--server', url, '--name', 'pat', '--config', cfg, '--secret-file',
    join(vaultDir, 'enroll.secret'), '--accept-scope', '--ca-file', join(vaultDir, 'tls', 'ca.crt')]);
  assert.ok(!existsSync(join(root, 'contributor.token')), 'no reader credential on the device');
  const signinCode = (enrolled.match(/sign-in code: (\S+)/) || [])[1];
  assert.ok(signinCode, 'enrolment shows a single-use sign-in code: ' + enrolled);
  const replay = join(root, 'session.jsonl');
  writeReplay(replay);
  const statusFile = join(root, 'state', 'status.json');
  const agentLog = join(root, 'agent.log');
  let agentOut = '';
  agent = spawn(BIN, ['agent', '--config', cfg, '--source', 'replay:' + replay, '--speed', '1',
    '--follow'], { stdio: ['ignore', 'pipe', 'pipe'] });
  agent.stdout.on('data', (d) => { agentOut += d; });
  agent.stderr.on('data', (d) => { agentOut += d; });
  assert.ok(await waitFor(() => agentState(statusFile) === 'recording', 30000) >= 0,
    'the recorder did not start: ' + agentOut);
  await sleep(3000);  // record a little first

  const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await page.goto(url + '/dashboard/register');
  await page.getByLabel('Sign-in code').fill(signinCode);
  await page.click('#register-button');
  await page.waitForURL(/\/dashboard\/me$/, { timeout: 15000 });
  const [cookie] = await context.cookies();
  assert.equal(cookie.secure, true, 'served over TLS: the session cookie is Secure');

  await page.getByLabel('Pause recording on all my devices').selectOption('resume');
  await page.getByRole('button', { name: 'Pause recording' }).click();
  await page.waitForSelector('#flash');
  const pausedAt = nowUs();
  assert.equal(await page.locator('#recording-state').getAttribute('data-paused'), 'true');
  const took = await waitFor(() => agentState(statusFile) === 'paused', 10000);
  assert.ok(took >= 0, 'the recorder did not report paused within 10 s: ' + agentState(statusFile));
  console.log(`recorder reported paused ${took.toFixed(2)} s after the dashboard click`);
  const status = run(['status', '--config', cfg]);
  assert.match(status, /recording:\s+paused/);
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'real-vault-paused.png') });
  await sleep(12000);  // stay paused past the bound, so the window checked below is not empty
  assert.equal(agentState(statusFile), 'paused');

  const resumeAt = nowUs();
  await page.getByRole('button', { name: 'Resume recording' }).click();
  await page.waitForSelector('#flash');
  assert.equal(await page.locator('#recording-state').getAttribute('data-paused'), 'false');
  assert.ok(await waitFor(() => agentState(statusFile) === 'recording', 10000) >= 0,
    'the recorder did not resume');
  await sleep(4000);
  agent.kill('SIGTERM');  // it seals and uploads what it holds, then exits
  const code = await new Promise((r) => agent.exitCode !== null ? r(agent.exitCode) : agent.on('exit', r));
  assert.equal(code, 0, agentOut);

  // What reached the vault, as the contributor downloads it from the dashboard.
  const dl = await page.evaluate(async (u) => {
    const r = await fetch(u, { credentials: 'same-origin' });
    return { status: r.status, text: await r.text() };
  }, url + '/dashboard/me/export.jsonl');
  assert.equal(dl.status, 200);
  const lines = dl.text.trim().split('\n');
  const head = JSON.parse(lines[0]);
  assert.ok(head.segments > 0);
  let before = 0, during = 0, after = 0, markers = 0;
  const bound = pausedAt + 10_000_000;  // the promised bound
  for (const line of lines.slice(1)) {
    const { wall_us: wall, event } = JSON.parse(line);
    if (event.control) ++markers;
    if (!event.key && !event.pointer) continue;
    if (wall < pausedAt) ++before;
    else if (wall >= bound && wall < resumeAt) ++during;
    else if (wall >= resumeAt) ++after;
  }
  console.log(`events: ${before} before the pause, ${during} >10 s into it, ${after} after resume; ` +
    `${markers} control markers`);
  assert.ok(before > 0, 'nothing was recorded before the pause');
  assert.equal(during, 0, 'events were captured during the pause');
  assert.ok(after > 0, 'recording did not resume');
  assert.ok(markers > 0, 'the pause is marked in the stream');
  await context.close();

  // The operator sees the device's health, including the spool backlog the
  // agent reported with its state polls (sizes only), and no content.
  const op = await browser.newContext({ ignoreHTTPSErrors: true });
  const opPage = await op.newPage();
  await opPage.goto(url + '/dashboard/login');
  await opPage.getByLabel('Your sealtrace access token')
    .fill(readFileSync(join(vaultDir, 'bootstrap', 'operator.token'), 'utf8').trim());
  await opPage.getByRole('button', { name: 'Sign in with a token' }).click();
  await opPage.waitForLoadState('domcontentloaded');
  assert.match(opPage.url(), /\/dashboard\/fleet$/);
  const table = opPage.getByRole('table', { name: 'Devices' });
  const row = await table.locator('tbody tr').first().textContent();
  assert.match(row, /seen today/);
  const patId = readFileSync(cfg, 'utf8').match(/contributor_id = '([0-9a-f]+)'/)[1];
  assert.ok(!(await opPage.content()).includes(patId), 'operators see no contributor ids');
  assert.match(row, /\d{4}-\d\d-\d\d \d\d:00:00 UTC/, 'times to the hour: ' + row);
  assert.match(row, /\d+ segments, \d+(\.\d)? (B|KiB|MiB)/, 'spool backlog reported: ' + row);
  mkdirSync(artifacts, { recursive: true });
  await opPage.screenshot({ path: join(artifacts, 'real-vault-fleet.png') });
  await op.close();
});

test('a state change proposed with the CLI is listed in the dashboard and confirmed there', async () => {
  const conn = (who) => ['--server', url, '--ca-file', join(vaultDir, 'tls', 'ca.crt'),
    '--token-file', join(vaultDir, 'bootstrap', `privacy_officer_${who}.token`)];
  const proposed = JSON.parse(run(['programme', 'propose', '--state', 'PAUSED', '--reason',
    'maintenance <b>window</b>', ...conn(1)]));
  const id = proposed.proposal_id;
  assert.match(id, /^sp_/);
  const listed = JSON.parse(run(['programme', 'proposals', ...conn(2)]));
  assert.deepEqual(listed.proposals.map((p) => p.proposal_id), [id]);

  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(url + '/dashboard/login');
  await page.getByLabel('Your sealtrace access token')
    .fill(readFileSync(join(vaultDir, 'bootstrap', 'privacy_officer_2.token'), 'utf8').trim());
  await page.getByRole('button', { name: 'Sign in with a token' }).click();
  await page.waitForLoadState('domcontentloaded');
  await page.goto(url + '/dashboard/officer/state');
  const table = page.getByRole('table', { name: 'Pending state changes' });
  const text = await table.textContent();
  assert.ok(text.includes('maintenance <b>window</b>'), 'the reason is shown as text: ' + text);
  assert.equal(await table.locator('b').count(), 0);
  await page.getByRole('button', { name: 'Confirm proposal ' + id }).click();
  await page.waitForSelector('#flash');
  assert.match(await page.locator('#flash').textContent(), /now PAUSED/);
  assert.equal(await page.locator('#no-proposals').count(), 1, 'nothing left pending');
  assert.equal(JSON.parse(run(['programme', 'show', ...conn(1)])).programme_state, 'PAUSED');

  // And back: proposed in the dashboard, confirmed with the CLI by the other officer.
  await page.getByLabel('New state').selectOption('ACTIVE');
  await page.getByLabel('Reason').fill('maintenance done');
  await page.getByRole('button', { name: 'Propose' }).click();
  await page.waitForSelector('#flash');
  const back = (await page.locator('#flash').textContent()).match(/(sp_[0-9a-f]+)/)[1];
  run(['programme', 'confirm', '--proposal', back, ...conn(1)]);
  assert.equal(JSON.parse(run(['programme', 'show', ...conn(2)])).programme_state, 'ACTIVE');
  await context.close();
});

async function passkeyPage() {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { context, page };
}

async function registerWith(page, code) {
  await page.goto(url + '/dashboard/register');
  await page.getByLabel('Sign-in code').fill(code);
  await page.click('#register-button');
  await page.waitForURL(/\/dashboard\/me$/, { timeout: 15000 });
}

test('a terminal reads its owner\'s data only after she approves it with her passkey; an officer\'s recovery code lets a new browser in', async () => {
  const root = join(work, 'quinn');
  mkdirSync(root, { recursive: true });
  const enrolled = run(['enroll', '--server', url, '--name', 'quinn', '--config',
    join(root, 'agent.toml'), '--secret-file', join(vaultDir, 'enroll.secret'), '--accept-scope',
    '--ca-file', join(vaultDir, 'tls', 'ca.crt')]);
  const code = enrolled.match(/sign-in code: (\S+)/)[1];
  const contributorId = readFileSync(join(root, 'agent.toml'), 'utf8').match(/contributor_id = '([0-9a-f]+)'/)[1];
  const { context, page } = await passkeyPage();
  await registerWith(page, code);

  // `sealtrace me read` shows a code; the terminal gets nothing until it is approved.
  let out = '', err = '';
  const cli = spawn(BIN, ['me', 'read', '--server', url, '--ca-file',
    join(vaultDir, 'tls', 'ca.crt')], { stdio: ['ignore', 'pipe', 'pipe'] });
  cli.stdout.on('data', (d) => { out += d; });
  cli.stderr.on('data', (d) => { err += d; });
  assert.ok(await waitFor(() => /approve the code [A-Z]{4}-[A-Z]{4}/.test(err), 15000) >= 0, err);
  const userCode = err.match(/approve the code ([A-Z]{4}-[A-Z]{4})/)[1];
  await sleep(2500);
  assert.equal(out, '', 'nothing is read before the approval');
  await page.goto(url + '/dashboard/terminal?code=' + userCode);
  await page.click('#terminal-approve');
  await page.waitForSelector('#flash');
  const exit = await new Promise((r) => cli.exitCode !== null ? r(cli.exitCode) : cli.on('exit', r));
  assert.equal(exit, 0, err);
  const read = JSON.parse(out);
  assert.ok(Number.isInteger(read.audit_index), out);
  assert.ok(Array.isArray(read.segments));
  await page.goto(url + '/dashboard/me/devices');
  assert.match(await page.content(), /device_flow|cli:/);
  await context.close();

  // Quinn lost her passkey: a privacy officer issues a recovery code.
  const token = readFileSync(join(vaultDir, 'bootstrap', 'privacy_officer_1.token'), 'utf8').trim();
  const res = await new Promise((resolve, reject) => {
    const body = JSON.stringify({ contributor_id: contributorId });
    const req = httpsRequest(url + '/v1/signin/recovery-code', {
      method: 'POST', ca: readFileSync(join(vaultDir, 'tls', 'ca.crt')),
      headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body) },
    }, (r) => { let t = ''; r.on('data', (d) => { t += d; }); r.on('end', () => resolve(t)); });
    req.on('error', reject);
    req.end(body);
  });
  const recovery = JSON.parse(res).signin_code;
  assert.ok(recovery, res);
  const fresh = await passkeyPage();
  await registerWith(fresh.page, recovery);
  await fresh.page.goto(url + '/dashboard/me/access');
  assert.match(await fresh.page.content(), /privacy_officer/);
  await fresh.context.close();
});
