// Sign-in: an access key and secret (or temporary credentials with their token) start a console session.
import { signIn } from '../js/api.js';
import { h, fill, errorText } from '../js/ui.js';

export function render(main, { onSignedIn }) {
  const id = h('input', { id: 'access-key-id', name: 'accessKeyId', autocomplete: 'username', required: true, spellcheck: 'false' });
  const secret = h('input', { id: 'secret-access-key', name: 'secretAccessKey', type: 'password', autocomplete: 'current-password', required: true });
  const token = h('input', { id: 'session-token', name: 'sessionToken', type: 'password', autocomplete: 'off' });
  const message = h('p', { class: 'error', role: 'alert', id: 'signin-error' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'sign-in' }, 'Sign in');
  const form = h('form', { class: 'panel signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to Stowage'),
    h('p', { class: 'muted' }, 'Use an access key and its secret (the dev credentials file has one). The session lasts an hour at most and acts with that key\u2019s permissions.'),
    h('label', { for: 'access-key-id' }, 'Access key ID'), id,
    h('label', { for: 'secret-access-key' }, 'Secret access key'), secret,
    h('label', { for: 'session-token' }, 'Session token (temporary credentials only)'), token,
    button, message);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    message.textContent = '';
    try {
      await signIn(id.value.trim(), secret.value, token.value.trim() || undefined);
      secret.value = '';
      if (!location.hash || location.hash === '#/') location.hash = '#/services';
      onSignedIn();
    } catch (e) {
      message.textContent = errorText(e);
    } finally {
      button.disabled = false;
    }
  });
  fill(main, form);
  id.focus();
}
