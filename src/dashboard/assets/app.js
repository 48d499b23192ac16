// sealtrace dashboard: verifies audit-log inclusion proofs in the browser.
// RFC 6962 / RFC 9162 §2.1.3.2 with WebCrypto SHA-256; the checkpoint's
// Ed25519 signature (C2SP signed note) is checked with WebCrypto where the
// browser supports Ed25519. No outside hosts, no libraries.
'use strict';
(function () {
  const enc = new TextEncoder();

  function b64ToBytes(b64) {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  function concat(...parts) {
    const n = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }
  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  }
  const leafHash = (data) => sha256(concat(Uint8Array.of(0), data));
  const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

  // RFC 9162 §2.1.3.2. index and size are BigInt; proof is an array of 32-byte arrays.
  async function verifyInclusion(leaf, index, size, proof, root) {
    if (index >= size) throw new Error('leaf index is outside the tree');
    let fn = index;
    let sn = size - 1n;
    let r = leaf;
    for (const p of proof) {
      if (p.length !== 32) throw new Error('proof node is not 32 bytes');
      if (sn === 0n) throw new Error('proof is too long');
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) throw new Error('proof is too short');
    if (!equal(r, root)) throw new Error('computed root differs from the signed checkpoint root');
    return r;
  }

  // C2SP signed note: text (ends with \n), blank line, signature lines "— name base64".
  function parseCheckpoint(note) {
    const cut = note.indexOf('\n\n');
    if (cut < 0) throw new Error('checkpoint note has no signature block');
    const text = note.slice(0, cut + 1);
    const lines = text.split('\n');
    if (lines.length < 4) throw new Error('checkpoint body is too short');
    if (!/^[1-9][0-9]*$|^0$/.test(lines[1])) throw new Error('bad checkpoint size');
    const root = b64ToBytes(lines[2]);
    if (root.length !== 32) throw new Error('bad checkpoint root');
    const sigs = [];
    for (const line of note.slice(cut + 2).split('\n')) {
      if (!line) continue;
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error('malformed signature line');
      sigs.push({ name: m[1], blob: b64ToBytes(m[2]) });
    }
    return { text, origin: lines[0], size: BigInt(lines[1]), root, sigs };
  }

  // Returns the verifying key name, or null when the browser lacks Ed25519.
  async function verifySignature(cp, verifierKeys) {
    let supported = true;
    for (const vkey of verifierKeys) {
      // "<name>+<hex key id>+<base64(0x01||pubkey)>"; the base64 may contain '+'.
      const cut = vkey.indexOf('+');
      if (cut < 0 || vkey[cut + 9] !== '+') continue;
      const parts = [vkey.slice(0, cut), vkey.slice(cut + 1, cut + 9), vkey.slice(cut + 10)];
      if (parts[0] !== cp.origin) continue;
      const keyData = b64ToBytes(parts[2]);
      if (keyData.length !== 33 || keyData[0] !== 1) continue;
      for (const sig of cp.sigs) {
        if (sig.name !== parts[0] || sig.blob.length !== 68) continue;
        if (hex(sig.blob.slice(0, 4)) !== parts[1].toLowerCase()) continue;
        let key;
        try {
          key = await crypto.subtle.importKey('raw', keyData.slice(1), { name: 'Ed25519' }, false,
                                              ['verify']);
        } catch (e) {
          supported = false;
          continue;
        }
        const ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, sig.blob.slice(4),
                                              enc.encode(cp.text));
        if (!ok) throw new Error('checkpoint signature by ' + parts[0] + ' does not verify');
        return parts[0] + '+' + parts[1];
      }
    }
    if (!supported) return null;
    throw new Error('no signature from a known log key');
  }

  async function verifyEntry(index) {
    const res = await fetch('proof?index=' + encodeURIComponent(index), {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    if (!res.ok) {
      let body = {};
      try {
        body = await res.json();
      } catch (e) { /* keep the status */ }
      const err = new Error(body.message || 'HTTP ' + res.status);
      err.pending = body.error === 'not_yet_covered';
      throw err;
    }
    const p = await res.json();
    const cp = parseCheckpoint(p.checkpoint);
    if (BigInt(p.size) !== cp.size) throw new Error('proof is for a different tree size');
    const signer = await verifySignature(cp, p.verifier_keys || []);
    const leaf = await leafHash(b64ToBytes(p.leaf));
    const proof = (p.proof || []).map(b64ToBytes);
    await verifyInclusion(leaf, BigInt(p.index), cp.size, proof, cp.root);
    return { size: cp.size, root: hex(cp.root).slice(0, 16), signer };
  }

  function setResult(out, ok, text) {
    out.textContent = text;
    out.dataset.result = ok ? 'ok' : 'fail';
    out.classList.toggle('ok', ok);
    out.classList.toggle('fail', !ok);
  }

  // The buttons stay disabled until this script runs (verification needs it).
  for (const b of document.querySelectorAll('button[data-verify-index]')) b.disabled = false;

  document.addEventListener('click', async (ev) => {
    const btn = ev.target.closest('button[data-verify-index]');
    if (!btn) return;
    ev.preventDefault();
    const index = btn.dataset.verifyIndex;
    const out = document.getElementById('verify-' + index);
    if (!out) return;
    btn.disabled = true;
    out.textContent = 'Verifying\u2026';
    delete out.dataset.result;
    try {
      if (!window.crypto || !crypto.subtle) throw new Error('WebCrypto is unavailable (use HTTPS)');
      const r = await verifyEntry(index);
      setResult(out, true,
                'Verified: entry ' + index + ' is in the audit log of ' + r.size +
                ' entries (root ' + r.root + '\u2026), ' +
                (r.signer ? 'checkpoint signed by ' + r.signer
                          : 'checkpoint signature not checkable in this browser'));
    } catch (e) {
      if (e.pending) {
        out.textContent = 'Not signed yet: ' + e.message;
        out.dataset.result = 'pending';
        out.classList.remove('ok', 'fail');
      } else {
        setResult(out, false, 'NOT verified: ' + e.message);
      }
    } finally {
      btn.disabled = false;
    }
  });
})();

// Passkeys (WebAuthn): registration with a sign-in code, sign-in, and the
// step-up before delete and download. The server (access/signin.h) issues
// single-use challenges and verifies everything; this only moves bytes.
(function () {
  function b64u(buf) {
    const bytes = new Uint8Array(buf);
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function unb64u(text) {
    const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out.buffer;
  }
  async function post(url, fields) {
    const r = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'},
      body: new URLSearchParams(fields),
    });
    let j = {};
    try { j = await r.json(); } catch (e) { /* not JSON */ }
    if (!r.ok) throw new Error(j.message || ('HTTP ' + r.status));
    return j;
  }
  function status(text, bad) {
    const el = document.getElementById('passkey-status');
    if (!el) return;
    el.textContent = text;
    el.dataset.result = bad ? 'fail' : 'ok';
  }
  function requestOptions(o) {
    o.challenge = unb64u(o.challenge);
    (o.allowCredentials || []).forEach((c) => { c.id = unb64u(c.id); });
    return o;
  }
  async function assert(beginUrl, finishUrl, extra) {
    const b = await post(beginUrl, extra);
    const cred = await navigator.credentials.get({publicKey: requestOptions(b.options)});
    if (!cred) throw new Error('no passkey was chosen');
    return post(finishUrl, Object.assign({}, extra, {
      ceremony: b.ceremony,
      credential_id: b64u(cred.rawId),
      client_data: b64u(cred.response.clientDataJSON),
      authenticator_data: b64u(cred.response.authenticatorData),
      signature: b64u(cred.response.signature),
    }));
  }
  async function register(code, beginUrl, finishUrl, extra) {
    const b = await post(beginUrl || '/dashboard/passkey/register/begin',
                         Object.assign({code}, extra || {}));
    const o = b.options;
    o.challenge = unb64u(o.challenge);
    o.user.id = unb64u(o.user.id);
    (o.excludeCredentials || []).forEach((c) => { c.id = unb64u(c.id); });
    const cred = await navigator.credentials.create({publicKey: o});
    if (!cred) throw new Error('no passkey was created');
    return post(finishUrl || '/dashboard/passkey/register/finish', {
      ...(extra || {}),
      ceremony: b.ceremony,
      client_data: b64u(cred.response.clientDataJSON),
      attestation: b64u(cred.response.attestationObject),
    });
  }
  function run(fn, working) {
    return async (ev) => {
      ev.preventDefault();
      if (!window.PublicKeyCredential) {
        status('This browser cannot use passkeys here (it needs HTTPS or localhost).', true);
        return;
      }
      status(working, false);
      try {
        await fn(ev);
      } catch (e) {
        status('Refused: ' + e.message, true);
      }
    };
  }
  const signin = document.getElementById('passkey-signin');
  if (signin) {
    signin.addEventListener('click', run(async () => {
      const r = await assert('/dashboard/passkey/signin/begin', '/dashboard/passkey/signin/finish', {});
      location.assign(r.redirect);
    }, 'Waiting for your passkey\u2026'));
  }
  const form = document.getElementById('register-form');
  if (form) {
    form.addEventListener('submit', run(async () => {
      const r = await register(document.getElementById('signin-code').value);
      location.assign(r.redirect);
    }, 'Creating your passkey\u2026'));
  }
  const add = document.getElementById('add-passkey');
  if (add) {
    add.addEventListener('click', run(async () => {
      await register('', '/dashboard/me/passkey/add/begin', '/dashboard/me/passkey/add/finish',
                     {csrf: add.dataset.csrf});
      location.assign('/dashboard/me/devices');
    }, 'Creating another passkey\u2026'));
  }
  const stepup = document.getElementById('stepup-button');
  if (stepup) {
    stepup.addEventListener('click', run(async () => {
      await assert('/dashboard/me/stepup/begin', '/dashboard/me/stepup/finish',
                   {csrf: stepup.dataset.csrf});
      status('Confirmed.', false);
      if (stepup.dataset.then === '/dashboard/me/delete') location.assign('/dashboard/me/delete');
      else location.assign(stepup.dataset.then);
    }, 'Waiting for your passkey\u2026'));
  }
})();
