// End-to-end tests of the sealtrace dashboard in a real browser: playwright-core
// drives Debian's chromium (headless; no browser is ever downloaded) against
// dashboard_test_server, a real embedded vault with sealed recordings of two
// contributors (see src/dashboard/dashboard_test_server.cc).
//
//   DASHBOARD_TEST_SERVER=<binary> CHROMIUM=/usr/bin/chromium node --test dashboard.test.mjs
//
// Screenshots go to tests/dashboard/artifacts/; with UPDATE_SCREENSHOTS=1 the
// main ones are also copied to docs/screenshots/ (linked from the README).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
const docsShots = join(here, '..', '..', 'docs', 'screenshots');
const SERVER = process.env.DASHBOARD_TEST_SERVER;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];

let work, server, info, browser;
const dialogs = [];      // every JS dialog any page opened (must stay empty)
const pageErrors = [];   // uncaught exceptions in our pages

async function startServer() {
  work = mkdtempSync(join(tmpdir(), 'sealtrace-dash-'));
  server = spawn(SERVER, ['--dir', join(work, 'vault')], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stderr.on('data', () => {});
  const rl = createInterface({ input: server.stdout });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('test server did not start')), 60000);
    server.on('error', reject);
    server.on('exit', (code) => reject(new Error('test server exited with ' + code)));
    rl.on('line', (line) => {
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(6)));
      }
    });
  });
}

async function newUser(viewport = { width: 1200, height: 860 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  return { context, page };
}

// A CDP virtual authenticator (ctap2, internal, resident keys, user
// verified) on this page; with `who.passkey`, holding that contributor's
// registered passkey (dashboard_test_server made it), so sign-in runs the
// real WebAuthn ceremony against the vault.
// Each new virtual authenticator is a copy of the same passkey, so it starts
// its signature counter above every earlier copy's (the vault refuses a
// counter that does not grow: a cloned authenticator).
const signCounts = {};
async function authenticator(page, who) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  if (who && who.passkey) {
    const b64 = (u) => Buffer.from(u, 'base64url').toString('base64');
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId,
      credential: { credentialId: b64(who.passkey.credential_id), isResidentCredential: true,
        rpId: 'localhost', privateKey: who.passkey.private_key,
        userHandle: who.passkey.user_handle,
        signCount: (signCounts[who.name] = (signCounts[who.name] || 0) + 1000) },
    });
  }
  return { cdp, authenticatorId };
}

// Contributors (objects with a passkey) sign in with it; everyone else with
// their token.
async function signIn(page, who) {
  await page.goto(info.url + '/dashboard/login');
  if (typeof who === 'object') {
    if (!page.__authenticator) page.__authenticator = await authenticator(page, who);
    await page.click('#passkey-signin');
    await page.waitForURL(/\/dashboard\/me$/, { timeout: 15000 });
    return;
  }
  await page.getByLabel('Your sealtrace access token').fill(who);
  await page.getByRole('button', { name: 'Sign in with a token' }).click();
  await page.waitForLoadState('domcontentloaded');
}

async function shot(page, name, { docs = false } = {}) {
  mkdirSync(artifacts, { recursive: true });
  const file = join(artifacts, name + '.png');
  await page.screenshot({ path: file });
  if (docs && process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(docsShots, { recursive: true });
    copyFileSync(file, join(docsShots, name + '.png'));
  }
}

async function deviceState(deviceToken) {
  const res = await fetch(info.url + '/v1/device/state', {
    headers: { Authorization: 'Bearer ' + deviceToken },
  });
  assert.equal(res.status, 200);
  return res.json();
}

// A GET made by the page itself (the browser sends its cookie).
async function pageGet(page, path) {
  return page.evaluate(async (u) => {
    const r = await fetch(u, { credentials: 'same-origin' });
    return { status: r.status, text: await r.text() };
  }, info.url + path);
}

// A form POST carrying the context's session cookie, with any Origin: what a
// non-browser client holding the cookie could send (browsers set Origin themselves).
async function rawPost(context, path, form, origin) {
  const cookies = (await context.cookies()).filter((c) => c.name === 'st_session');
  const res = await fetch(info.url + path, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Cookie: cookies.map((c) => c.name + '=' + c.value).join('; '),
      ...(origin ? { Origin: origin } : {}),
    },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, text: await res.text() };
}

async function csrfOf(page) {
  return page.locator('input[name="csrf"]').first().getAttribute('value');
}

// datetime-local value (UTC) for a Unix time in ms.
const dtLocal = (ms) => new Date(ms).toISOString().slice(0, 16);

before(async () => {
  assert.ok(SERVER, 'DASHBOARD_TEST_SERVER must name the dashboard_test_server binary');
  info = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill('SIGTERM');
  if (work) rmSync(work, { recursive: true, force: true });
  assert.deepEqual(dialogs, [], 'no page may ever open a dialog (escaped HTML never runs)');
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the pages');
});

test('a contributor signs in and sees the overview and timeline', async () => {
  const { context, page } = await newUser();
  await signIn(page, info.alice);
  assert.match(page.url(), /\/dashboard\/me$/);
  assert.equal(await page.locator('#who-name').textContent(), 'alice');
  assert.equal(await page.locator('#segment-count').textContent(), '3');
  assert.equal(await page.locator('#recording-state').getAttribute('data-paused'), 'false');
  // The session cookie is HttpOnly, Secure and SameSite=Strict.
  const [cookie] = await context.cookies();
  assert.equal(cookie.name, 'st_session');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the cookie');
  await shot(page, 'contributor-overview', { docs: true });

  await page.getByRole('link', { name: 'Timeline', exact: true }).click();
  const table = page.getByRole('table', { name: 'Recorded time per day and application' });
  await table.waitFor();
  const text = await table.textContent();
  for (const app of ['Firefox', 'XTerm', '(excluded application)']) assert.ok(text.includes(app), app);
  // 3 segments x 1 redaction, 3 excluded-application entries.
  assert.match(await page.locator('main').textContent(), /3 secrets or personal data were redacted/);
  assert.match(await page.locator('#audit-note').textContent(), /audit log entry #\d+/);
  await shot(page, 'contributor-timeline', { docs: true });
  await context.close();
});

test('HTML in window titles is shown as text and never executed', async () => {
  const { context, page } = await newUser();
  await signIn(page, info.alice);
  await page.getByRole('link', { name: 'Recent actions', exact: true }).click();
  const main = page.locator('main');
  const text = await main.textContent();
  assert.ok(text.includes('<script>alert(1)</script><img src=x onerror=alert(2)> canary-title-alice'));
  assert.ok(text.includes('"><b>bold</b> terminal'));
  assert.equal(await main.locator('script').count(), 0);
  assert.equal(await page.locator('img').count(), 0);
  assert.equal(await main.locator('td b').count(), 0);
  assert.match(await page.locator('#audit-note').textContent(), /audit log entry #\d+/);
  assert.deepEqual(dialogs, []);
  await shot(page, 'contributor-preview', { docs: true });
  await context.close();
});

test('pause and resume reach the recorder through /v1/device/state', async () => {
  const { context, page } = await newUser();
  await signIn(page, info.alice);
  let st = await deviceState(info.alice.device_token);
  assert.equal(st.recording_allowed, true);
  await page.getByLabel('Pause recording on all my devices').selectOption('resume');
  await page.getByRole('button', { name: 'Pause recording' }).click();
  await page.waitForSelector('#flash');
  assert.match(await page.locator('#flash').textContent(), /Recording paused/);
  assert.equal(await page.locator('#recording-state').getAttribute('data-paused'), 'true');
  st = await deviceState(info.alice.device_token);
  assert.equal(st.recording_allowed, false);
  assert.equal(st.contributor_paused, true);
  assert.equal(st.programme_state, 'ACTIVE');
  // Only alice paused: bob's devices keep recording.
  assert.equal((await deviceState(info.bob.device_token)).recording_allowed, true);
  await shot(page, 'contributor-paused');
  await page.getByRole('button', { name: 'Resume recording' }).click();
  await page.waitForSelector('#flash');
  assert.equal(await page.locator('#recording-state').getAttribute('data-paused'), 'false');
  assert.equal((await deviceState(info.alice.device_token)).recording_allowed, true);
  await context.close();
});

test('who read my data: an officer read is listed and its proof verifies in the browser', async () => {
  const { context, page } = await newUser();
  await signIn(page, info.alice);
  await page.getByRole('link', { name: 'Who read my data', exact: true }).click();
  const row = page.getByRole('row').filter({ hasText: 'Investigate support ticket 4711' })
    .filter({ hasText: 'read' }).first();
  await row.waitFor();
  const button = row.getByRole('button', { name: 'Verify' });
  const index = await button.getAttribute('data-verify-index');
  const out = page.locator('#verify-' + index);
  // The page script enables the buttons once it runs.
  // (A selector wait: the page's CSP forbids the eval that waitForFunction polls with.)
  await page.locator(`button[data-verify-index="${index}"]:enabled`).waitFor();
  // Keyboard: focus the button and press Enter.
  await button.focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#verify-${index}[data-result]`);
  assert.equal(await out.getAttribute('data-result'), 'ok', await out.textContent());
  assert.match(await out.textContent(), /Verified: entry \d+ is in the audit log of \d+ entries/);
  assert.match(await out.textContent(), /checkpoint signed by sealtrace/);
  await shot(page, 'contributor-who-read', { docs: true });

  // A tampered entry (one byte of the leaf changed in transit) must not verify.
  await page.route('**/dashboard/me/proof*', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    const leaf = Buffer.from(body.leaf, 'base64');
    leaf[leaf.length - 2] ^= 1;
    body.leaf = leaf.toString('base64');
    await route.fulfill({ response: res, json: body });
  });
  await button.click();
  await page.waitForSelector(`#verify-${index}[data-result]`);
  assert.equal(await out.getAttribute('data-result'), 'fail');
  assert.match(await out.textContent(), /NOT verified: computed root differs/);
  await page.unroute('**/dashboard/me/proof*');
  // A fresh own read (the preview) gets a proof too (a new checkpoint covers it).
  await page.goto(info.url + '/dashboard/me/preview');
  const ownIndex = (await page.locator('#audit-note').textContent()).match(/#(\d+)/)[1];
  await page.goto(info.url + '/dashboard/me/access');
  await page.locator(`button[data-verify-index="${ownIndex}"]`).click();
  await page.waitForSelector(`#verify-${ownIndex}[data-result]`);
  assert.equal(await page.locator('#verify-' + ownIndex).getAttribute('data-result'), 'ok');
  await context.close();
});

test('a second contributor cannot reach the first one\'s data by any URL', async () => {
  const { context, page } = await newUser();
  await signIn(page, info.bob);
  assert.equal(await page.locator('#who-name').textContent(), 'bob');
  // Alice's segment ids in the preview URL: not found among bob's data.
  for (const id of info.alice.segments) {
    const res = await page.goto(info.url + '/dashboard/me/preview?segment=' + id);
    assert.equal(res.status(), 404);
    assert.ok(!(await page.content()).includes('canary-title-alice'));
  }
  // Alice's audit entry indices in the proof URL.
  const alicePage = (await newUser()).page;
  await signIn(alicePage, info.alice);
  await alicePage.goto(info.url + '/dashboard/me/access');
  const aliceIdx = await alicePage.locator('button[data-verify-index]')
    .evaluateAll((bs) => bs.map((b) => b.dataset.verifyIndex));
  await alicePage.context().close();
  assert.ok(aliceIdx.length > 0);
  const bobPage = await page.goto(info.url + '/dashboard/me/access');
  assert.equal(bobPage.status(), 200);
  const bobIdx = await page.locator('button[data-verify-index]')
    .evaluateAll((bs) => bs.map((b) => b.dataset.verifyIndex));
  for (const idx of aliceIdx.filter((i) => !bobIdx.includes(i))) {
    const r = await pageGet(page, '/dashboard/me/proof?index=' + idx);
    assert.equal(r.status, 404, 'entry ' + idx);
    assert.ok(!r.text.includes('leaf'));
  }
  // A contributor id in the query is ignored: bob always sees bob.
  await page.goto(info.url + '/dashboard/me/preview?contributor=' + info.alice.contributor_id);
  const html = await page.content();
  assert.ok(html.includes('canary-title-bob'));
  assert.ok(!html.includes('canary-title-alice'));
  // Nothing of alice's in bob's timeline, access list or download.
  for (const p of ['/dashboard/me', '/dashboard/me/timeline', '/dashboard/me/access']) {
    await page.goto(info.url + p);
    const c = await page.content();
    assert.ok(!c.includes('canary-title-alice') && !c.includes(info.alice.contributor_id), p);
    assert.ok(!c.includes('Investigate support ticket'), p);
  }
  const body = (await pageGet(page, '/dashboard/me/export.jsonl')).text;
  assert.ok(body.includes(info.bob.contributor_id));
  assert.ok(!body.includes(info.alice.contributor_id) && !body.includes('canary-typed-alice'));
  // Officer and operator pages are not for contributors.
  assert.equal((await page.goto(info.url + '/dashboard/officer/grants')).status(), 403);
  assert.equal((await page.goto(info.url + '/dashboard/fleet')).status(), 403);
  await context.close();
});

test('CSRF: posts without the form token, from another origin, or cross-site are refused', async () => {
  const { context, page } = await newUser();
  await signIn(page, info.alice);
  const csrf = await csrfOf(page);
  assert.ok(csrf && csrf.length === 43);
  // No token.
  let r = await rawPost(context, '/dashboard/me/pause', { action: 'pause', for: 'resume' }, info.url);
  assert.equal(r.status, 403);
  assert.match(r.text, /form token is missing or wrong/);
  // Wrong token.
  r = await rawPost(context, '/dashboard/me/pause',
    { action: 'pause', for: 'resume', csrf: 'A'.repeat(43) }, info.url);
  assert.equal(r.status, 403);
  // Right token, wrong Origin; right token, no Origin and no Referer.
  r = await rawPost(context, '/dashboard/me/pause', { action: 'pause', for: 'resume', csrf },
    'http://evil.example');
  assert.equal(r.status, 403);
  assert.match(r.text, /Origin check/);
  r = await rawPost(context, '/dashboard/me/pause', { action: 'pause', for: 'resume', csrf }, null);
  assert.equal(r.status, 403);
  // The same request from our own origin is accepted (the checks above are what refused).
  r = await rawPost(context, '/dashboard/me/pause', { action: 'pause', for: '15m', csrf }, info.url);
  assert.equal(r.status, 303);
  assert.equal((await deviceState(info.alice.device_token)).recording_allowed, false);
  r = await rawPost(context, '/dashboard/me/pause', { action: 'resume', csrf }, info.url);
  assert.equal(r.status, 303);
  assert.equal((await deviceState(info.alice.device_token)).recording_allowed, true);
  // A real cross-site form in the browser (even knowing the token): the SameSite
  // cookie is not sent and the Origin is foreign, so nothing changes.
  const attacker = await context.newPage();
  attacker.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await attacker.setContent(`<form id=f method=post action="${info.url}/dashboard/me/pause">
      <input name=action value=pause><input name=for value=resume>
      <input name=csrf value="${csrf}"></form>`);
  const [resp] = await Promise.all([
    attacker.waitForNavigation(),
    attacker.evaluate(() => document.getElementById('f').submit()),
  ]);
  assert.ok([401, 403].includes(resp.status()), 'status ' + resp.status());
  assert.equal((await deviceState(info.alice.device_token)).recording_allowed, true);
  // The right token from our own page works.
  await page.reload();
  assert.equal(await page.locator('#recording-state').getAttribute('data-paused'), 'false');
  await context.close();
});

test('an expired session sends the user back to sign in', async () => {
  const { context, page } = await newUser();
  await signIn(page, info.alice);
  assert.match(page.url(), /\/dashboard\/me$/);
  const csrf = await csrfOf(page);
  const adv = await fetch(info.url + '/__test/advance?seconds=' + 16 * 60, { method: 'POST' });
  assert.equal(adv.status, 200);
  await page.goto(info.url + '/dashboard/me/timeline');
  assert.match(page.url(), /\/dashboard\/login\?why=expired$/);
  assert.match(await page.locator('#login-notice').textContent(), /session expired/);
  // A post with the old session's token changes nothing.
  const r = await rawPost(context, '/dashboard/me/pause', { action: 'pause', for: 'resume', csrf },
    info.url);
  assert.equal(r.status, 401);
  assert.equal((await deviceState(info.alice.device_token)).recording_allowed, true);
  await signIn(page, info.alice);
  assert.match(page.url(), /\/dashboard\/me$/);
  // Sign out ends the session.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForSelector('#login-notice');
  assert.match(await page.locator('#login-notice').textContent(), /signed out/);
  await page.goto(info.url + '/dashboard/me');
  assert.match(page.url(), /\/dashboard\/login$/);
  await context.close();
});

test('a contributor deletes a time range (with confirmation) and it is gone', async () => {
  const { context, page } = await newUser();
  await signIn(page, info.alice);
  await page.getByRole('link', { name: 'Delete', exact: true }).click();
  const now = Date.now();
  // The middle segment was recorded 2 h ago.
  await page.getByLabel('From (UTC)').fill(dtLocal(now - 150 * 60000));
  await page.getByLabel('To (UTC)').fill(dtLocal(now - 90 * 60000));
  await page.getByRole('button', { name: 'Review deletion…' }).click();
  await page.waitForSelector('#delete-confirm');
  assert.match(await page.locator('#delete-confirm').textContent(), /permanently delete 1 segments/);
  await shot(page, 'contributor-delete-confirm', { docs: true });
  await page.getByRole('button', { name: 'Yes, delete this range' }).click();
  await page.waitForSelector('#flash');
  assert.match(await page.locator('#flash').textContent(), /Deleted 1 segments/);
  assert.equal(await page.locator('#segment-count').textContent(), '2');
  const gone = info.alice.segments[1];
  assert.equal((await page.goto(info.url + '/dashboard/me/preview?segment=' + gone)).status(), 404);
  // The download no longer has it; what is left is all there.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.goto(info.url + '/dashboard/me').then(() =>
      page.getByRole('link', { name: 'Download my data' }).first().click()),
  ]);
  const lines = readFileSync(await download.path(), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].contributor_id, info.alice.contributor_id);
  assert.equal(lines[0].segments, 2);
  const events = lines.slice(1);
  assert.ok(events.length > 0);
  assert.ok(!events.some((e) => e.segment_id === gone));
  assert.deepEqual([...new Set(events.map((e) => e.segment_id))].sort(),
    [info.alice.segments[0], info.alice.segments[2]].sort());
  const typed = events.filter((e) => e.event.key).map((e) => e.event.key.text).join('');
  assert.ok(typed.includes('canary-typed-alice'));
  await context.close();
});

test('an officer approves another officer\'s grant and cannot approve their own', async () => {
  const { context, page } = await newUser();
  await signIn(page, info.officer_b.token);
  assert.match(page.url(), /\/dashboard\/officer\/grants$/);
  const pending = page.getByRole('table', { name: 'Grant requests waiting for a second privacy officer' });
  await pending.waitFor();
  // B's own request: no approve button, only a note.
  const own = pending.getByRole('row').filter({ hasText: 'Dataset audit requested by B' });
  assert.equal(await own.getByRole('button').count(), 0);
  assert.match(await own.textContent(), /Needs a second privacy officer/);
  // A's request: escaped purpose, approve and deny buttons.
  const theirs = pending.getByRole('row').filter({ hasText: 'Quality review <i>requested by A</i>' });
  assert.equal(await theirs.getByRole('button', { name: /Approve grant/ }).count(), 1);
  await shot(page, 'officer-grants', { docs: true });
  // The server refuses B approving B's own grant even with a valid form.
  const csrf = await csrfOf(page);
  const r = await rawPost(context, '/dashboard/officer/grants/decide',
    { csrf, grant_id: info.grants.pending_by_b, decision: 'approve' }, info.url);
  assert.equal(r.status, 403);
  assert.match(r.text, /grant\.two_person/);
  // Approve A's request.
  await theirs.getByRole('button', { name: /Approve grant/ }).click();
  await page.waitForSelector('#flash');
  assert.match(await page.locator('#flash').textContent(), /is now approved/);
  const active = await page.getByRole('table', { name: 'Approved grants in force' }).textContent();
  assert.ok(active.includes('Quality review <i>requested by A</i>'));
  assert.ok((await page.getByRole('table', { name: 'Grant requests waiting for a second privacy officer' })
    .textContent()).includes('Dataset audit requested by B'));
  await context.close();
});

test('programme state changes need a second officer; paused and incident pages are clear', async () => {
  const a = await newUser();
  const b = await newUser();
  const alice = await newUser();
  await signIn(a.page, info.officer_a.token);
  await signIn(b.page, info.officer_b.token);
  await signIn(alice.page, info.alice);
  const change = async (proposer, confirmer, state) => {
    await proposer.page.goto(info.url + '/dashboard/officer/state');
    await proposer.page.getByLabel('New state').selectOption(state);
    await proposer.page.getByLabel('Reason').fill('e2e: switch to ' + state);
    await proposer.page.getByRole('button', { name: 'Propose' }).click();
    await proposer.page.waitForSelector('#flash');
    const id = (await proposer.page.locator('#flash').textContent()).match(/(sp_[0-9a-f]+)/)[1];
    // The proposer has no confirm button for their own proposal.
    const mine = proposer.page.getByRole('row').filter({ hasText: id.slice(0, 14) });
    assert.equal(await mine.getByRole('button').count(), 0);
    await confirmer.page.goto(info.url + '/dashboard/officer/state');
    await confirmer.page.getByRole('button', { name: 'Confirm proposal ' + id }).click();
    await confirmer.page.waitForSelector('#flash');
    assert.match(await confirmer.page.locator('#flash').textContent(), new RegExp('now ' + state));
  };
  await change(a, b, 'PAUSED');
  let st = await deviceState(info.alice.device_token);
  assert.equal(st.programme_state, 'PAUSED');
  assert.equal(st.recording_allowed, false);
  await alice.page.goto(info.url + '/dashboard/me');
  assert.match(await alice.page.locator('#programme-banner').textContent(), /Programme PAUSED/);
  await shot(alice.page, 'contributor-programme-paused', { docs: true });
  await change(b, a, 'INCIDENT');
  const res = await alice.page.goto(info.url + '/dashboard/me/timeline');
  assert.equal(res.status(), 503);
  assert.match(await alice.page.locator('#frozen').textContent(), /INCIDENT/);
  assert.ok(!(await alice.page.content()).includes('canary'));
  await shot(alice.page, 'contributor-incident', { docs: true });
  // The overview still loads (listing frozen), and pausing works during an incident.
  assert.equal((await alice.page.goto(info.url + '/dashboard/me')).status(), 200);
  assert.match(await alice.page.locator('#data-frozen').textContent(), /frozen during the incident/);
  await alice.page.getByRole('button', { name: 'Pause recording' }).click();
  await alice.page.waitForSelector('#flash');
  assert.equal(await alice.page.locator('#recording-state').getAttribute('data-paused'), 'true');
  await alice.page.getByRole('button', { name: 'Resume recording' }).click();
  await alice.page.waitForSelector('#flash');
  await b.page.goto(info.url + '/dashboard/officer/state');
  await shot(b.page, 'officer-programme', { docs: true });
  await change(a, b, 'ACTIVE');
  st = await deviceState(info.alice.device_token);
  assert.equal(st.recording_allowed, true);
  for (const u of [a, b, alice]) await u.context.close();
});

test('operators see fleet health and no content', async () => {
  const { context, page } = await newUser();
  await signIn(page, info.operator.token);
  assert.match(page.url(), /\/dashboard\/fleet$/);
  assert.equal(await page.locator('#device-count').textContent(), '3');
  const html = await page.content();
  assert.ok(!html.includes('canary') && !html.includes('Firefox'));
  assert.equal((await page.goto(info.url + '/dashboard/me/timeline')).status(), 403);
  assert.equal((await page.goto(info.url + '/dashboard/officer/grants')).status(), 403);
  await page.goto(info.url + '/dashboard/fleet');
  await shot(page, 'operator-fleet', { docs: true });
  await context.close();
});

test('phone width, keyboard navigation and labelled controls', async () => {
  const { context, page } = await newUser({ width: 390, height: 844 });
  await signIn(page, info.bob);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 391, 'no horizontal scrolling at phone width: ' + overflow);
  await shot(page, 'contributor-overview-phone', { docs: true });
  // The first Tab reaches the skip link, which moves focus to the main content.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  // Every form control on every contributor page has an accessible name.
  for (const p of ['/dashboard/me', '/dashboard/me/delete', '/dashboard/me/access']) {
    await page.goto(info.url + p);
    const unlabeled = await page.evaluate(() =>
      [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') &&
                        !(el.textContent || '').trim())
        .map((el) => el.outerHTML));
    assert.deepEqual(unlabeled, [], p);
  }
  await context.close();
});

test('deleting everything destroys the key and leaves nothing readable', async () => {
  const { context, page } = await newUser();
  await signIn(page, info.bob);
  await page.goto(info.url + '/dashboard/me/delete');
  await page.getByLabel('Everything (and my key)').check();
  await page.getByRole('button', { name: 'Review deletion…' }).click();
  await page.waitForSelector('#delete-confirm');
  assert.match(await page.locator('#delete-confirm').textContent(), /all your data \(3 segments\)/);
  await page.getByRole('button', { name: 'Yes, delete everything' }).click();
  await page.waitForSelector('#flash');
  assert.match(await page.locator('#flash').textContent(), /destroyed your key/);
  assert.equal(await page.locator('#segment-count').textContent(), '0');
  await page.goto(info.url + '/dashboard/me/preview');
  assert.ok(!(await page.content()).includes('canary'));
  await context.close();
});

test('a new contributor registers a passkey with the enrolment code, once; tokens cannot sign in', async () => {
  const { page, context } = await newUser();
  await authenticator(page, null);
  await page.goto(info.url + '/dashboard/register');
  await page.getByLabel('Sign-in code').fill(info.carol.signin_code.toLowerCase());
  await page.click('#register-button');
  await page.waitForURL(/\/dashboard\/me$/, { timeout: 15000 });
  await page.goto(info.url + '/dashboard/me/devices');
  assert.equal(await page.locator('#passkeys-table tbody tr, table:has(caption:text("Your passkeys")) tbody tr').count() >= 1, true);
  await shot(page, 'contributor-devices', { docs: true });
  // Signed out, the same browser signs in again with the new passkey.
  await page.goto(info.url + '/dashboard/me');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/dashboard\/login/);
  await page.waitForLoadState('load');  // app.js (end of body) has attached its handlers
  await page.click('#passkey-signin');
  await page.waitForURL(/\/dashboard\/me$/, { timeout: 15000 });
  await context.close();
  // The code worked once.
  const other = await newUser();
  await authenticator(other.page, null);
  await other.page.goto(info.url + '/dashboard/register');
  await other.page.getByLabel('Sign-in code').fill(info.carol.signin_code);
  await other.page.click('#register-button');
  await other.page.waitForSelector('#passkey-status[data-result="fail"]');
  assert.match(await other.page.locator('#passkey-status').textContent(), /already used/);
  // A contributor's token (even a valid one) does not sign in to the dashboard.
  await other.page.goto(info.url + '/dashboard/login');
  await other.page.getByLabel('Your sealtrace access token').fill(info.alice.token);
  await other.page.getByRole('button', { name: 'Sign in with a token' }).click();
  await other.page.waitForSelector('#login-notice');
  assert.match(await other.page.locator('#login-notice').textContent(), /passkey/);
  await other.context.close();
});

test('delete and download need a fresh passkey assertion (step-up)', async () => {
  const { page, context } = await newUser();
  await signIn(page, info.bob);
  await fetch(info.url + '/__test/advance?seconds=360', { method: 'POST' });
  const dl = await page.evaluate(async (u) => (await fetch(u, { credentials: 'same-origin' })).status,
    info.url + '/dashboard/me/export.jsonl');
  assert.equal(dl, 403, 'download without a recent passkey assertion');
  await page.goto(info.url + '/dashboard/me/export.jsonl').catch(() => {});
  await page.waitForSelector('#stepup-button');
  await shot(page, 'contributor-step-up', { docs: true });
  await page.locator('#stepup-button').evaluate((b) => { b.dataset.then = '/dashboard/me'; });
  await page.click('#stepup-button');
  await page.waitForURL(/\/dashboard\/me$/, { timeout: 15000 });
  const after = await page.evaluate(async (u) => (await fetch(u, { credentials: 'same-origin' })).status,
    info.url + '/dashboard/me/export.jsonl');
  assert.equal(after, 200, 'download after the step-up');
  await context.close();
});
