// Passkey buttons (/login, the code step, /settings/security), with @simplewebauthn/browser served from our own origin
// (/static/simplewebauthn-browser.js, global SimpleWebAuthnBrowser). An external file because the Content-Security-Policy
// forbids inline scripts. Everything else on these pages works without JavaScript; the passkey controls stay hidden
// unless the browser supports WebAuthn.
'use strict';
(() => {
  const lib = window.SimpleWebAuthnBrowser;

  /** POSTs JSON (or nothing) and returns [status, parsed body]. */
  async function post(url, body) {
    const init = { method: 'POST', credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(url, init);
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    return [res.status, data];
  }

  function say(status, text) {
    if (!status) return;
    status.hidden = false;
    status.textContent = text;
    status.focus();
  }

  function errorText(data, fallback) {
    return (data && data.error && data.error.message) || fallback;
  }

  /** The browser's own refusal (cancelled, timed out, no passkey here) in words. */
  function ceremonyText(error) {
    if (error && error.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out. Try again.';
    if (error && error.name === 'InvalidStateError') return 'This passkey is already registered for your account.';
    return 'Your browser could not use a passkey here.';
  }

  /** Sign-in buttons: data-passkey-options and data-passkey-verify name the two API routes; success goes home. */
  function setUpSignIn(button) {
    const status = document.getElementById(button.dataset.passkeyStatus || '');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        const [code, options] = await post(button.dataset.passkeyOptions);
        if (code !== 200) return say(status, errorText(options, 'Could not start the passkey sign-in.'));
        let credential;
        try {
          credential = await lib.startAuthentication({ optionsJSON: options });
        } catch (error) {
          return say(status, ceremonyText(error));
        }
        const remember = document.getElementById('remember-device');
        if (remember && remember.checked) credential.rememberDevice = true;
        const [done, data] = await post(button.dataset.passkeyVerify, credential);
        if (done === 200) {
          window.location.assign('/');
          return;
        }
        if (done === 401 && data && data.error && data.error.code === 'two_factor_pending_expired') {
          window.location.assign('/login?notice=sign-in-expired');
          return;
        }
        say(status, errorText(data, 'That passkey was not accepted.'));
      } finally {
        button.disabled = false;
      }
    });
  }

  /** The "Add a passkey" form: password → options → the authenticator → registration → the page again with a notice. */
  function setUpRegistration(form) {
    const status = document.getElementById(form.dataset.passkeyStatus || '');
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      const name = form.elements.namedItem('name').value;
      const password = form.elements.namedItem('password').value;
      if (!password) return say(status, 'Enter your password to add a passkey.');
      if (button) button.disabled = true;
      try {
        const [code, options] = await post('/api/passkeys/registration/options', { password });
        if (code !== 200) return say(status, errorText(options, 'Could not start adding a passkey.'));
        let credential;
        try {
          credential = await lib.startRegistration({ optionsJSON: options });
        } catch (error) {
          return say(status, ceremonyText(error));
        }
        const [done, data] = await post('/api/passkeys/registration', Object.assign(credential, name.trim() ? { name: name.trim() } : {}));
        if (done === 200) {
          window.location.assign('/settings/security?notice=passkey-added');
          return;
        }
        say(status, errorText(data, 'The passkey was not added.'));
      } finally {
        if (button) button.disabled = false;
      }
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    if (!lib || !lib.browserSupportsWebAuthn()) return;
    for (const el of document.querySelectorAll('[data-passkey-controls]')) el.hidden = false;
    for (const el of document.querySelectorAll('[data-passkey-fallback]')) el.hidden = true;
    for (const button of document.querySelectorAll('button[data-passkey-options]')) setUpSignIn(button);
    for (const form of document.querySelectorAll('form[data-passkey-register]')) setUpRegistration(form);
  });
})();
