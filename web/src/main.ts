/**
 * The console's shell: sign-in, a hash router (`#/` videos, `#/admin` operations) and the header. Views are plain
 * functions returning elements; nothing heavier is needed for four screens.
 */
import { adminView } from './admin.js';
import { Api } from './api.js';
import { completeCognitoSignIn, currentSession, devSignIn, signInWithToken, signOut, startCognitoSignIn, type Session } from './auth.js';
import { loadConfig, type ConsoleConfig } from './config.js';
import { focusOn, h, replaceChildren } from './dom.js';
import { libraryView, type LibraryView } from './library.js';
import { uploadView } from './upload-view.js';

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const account = document.getElementById('account') as HTMLElement;

let library: LibraryView | null = null;

function signInView(config: ConsoleConfig, notice?: string): HTMLElement {
  const error = h('p', { class: 'error', role: 'alert', id: 'signin-error' }, notice ?? '');
  const done = (session: Session | { error: string }) => {
    if ('error' in session) {
      error.textContent = session.error;
      return;
    }
    // The view asked for (`#/admin`, say) is the one shown once signed in.
    render(config);
  };

  if (config.auth.kind === 'cognito') {
    const cognito = config.auth;
    return h(
      'section',
      { class: 'panel narrow', 'aria-labelledby': 'signin-heading' },
      h('h2', { id: 'signin-heading' }, 'Sign in'),
      h('p', {}, 'Sign in with your reelay account.'),
      h('button', { type: 'button', class: 'primary', onclick: () => void startCognitoSignIn(cognito) }, 'Sign in'),
      error,
    );
  }

  const token = h('textarea', { id: 'signin-token', rows: 4, required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'signin-help' });
  const pasteForm = h(
    'form',
    { id: 'signin-form' },
    h('label', { for: 'signin-token' }, 'Access token'),
    token,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
  );
  pasteForm.addEventListener('submit', (event) => {
    event.preventDefault();
    done(signInWithToken(token.value));
  });

  const devUrl = config.auth.devTokenUrl;
  let devForm: HTMLElement | false = false;
  if (devUrl) {
    const user = h('input', { id: 'dev-sub', value: 'alice', required: true });
    const admin = h('input', { type: 'checkbox', id: 'dev-admin' });
    devForm = h(
      'form',
      { id: 'dev-signin-form' },
      h('h3', {}, 'Or one click (local only)'),
      h('div', { class: 'field' }, h('label', { for: 'dev-sub' }, 'User id'), user),
      h('label', { class: 'check' }, admin, ' In the admin group'),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Dev sign-in')),
    );
    devForm.addEventListener('submit', (event) => {
      event.preventDefault();
      devSignIn(devUrl, user.value.trim(), admin.checked).then(done, (failure: unknown) => done({ error: (failure as Error).message }));
    });
  }

  return h(
    'section',
    { class: 'panel narrow', 'aria-labelledby': 'signin-heading' },
    h('h2', { id: 'signin-heading' }, 'Sign in'),
    h('p', { id: 'signin-help' }, 'Mint a local token in a shell and paste it here: ', h('code', {}, 'npm run -s token -- --sub alice'), ' (add ', h('code', {}, '--admin'), ' for the admin view).'),
    pasteForm,
    devForm,
    error,
  );
}

function renderHeader(config: ConsoleConfig, session: Session | null, route: string) {
  const link = (href: string, label: string, current: boolean) => h('a', { href, ...(current && { 'aria-current': 'page' }) }, label);
  replaceChildren(nav, session && link('#/', 'Videos', route !== 'admin'), session?.isAdmin && link('#/admin', 'Admin', route === 'admin'));
  replaceChildren(
    account,
    session &&
      h('span', { class: 'who', id: 'signed-in-as' }, `Signed in as ${session.name}`, session.isAdmin ? h('span', { class: 'badge' }, 'admin') : false),
    session &&
      h('button', {
        type: 'button',
        class: 'link',
        onclick: () => {
          signOut(config);
          render(config);
        },
      }, 'Sign out'),
  );
}

function render(config: ConsoleConfig, notice?: string) {
  library?.dispose();
  library = null;
  const session = currentSession(config.adminGroup);
  const route = location.hash.replace(/^#\/?/, '') || 'videos';
  renderHeader(config, session, route);
  if (!session) {
    replaceChildren(main, signInView(config, notice));
    return;
  }
  const api = new Api(config.apiUrl, () => currentSession()?.token ?? null, () => {
    // The token expired or was revoked mid-session: back to sign-in, keeping unfinished uploads for later.
    sessionStorage.removeItem('reelay.token');
    render(config, 'Your session ended; sign in again. Unfinished uploads can be resumed afterwards.');
  });
  if (route === 'admin') {
    const heading = h('h2', { id: 'admin-heading' }, 'Operations');
    replaceChildren(
      main,
      session.isAdmin
        ? h('div', { 'aria-labelledby': 'admin-heading' }, heading, adminView(api))
        : h('section', { class: 'panel narrow', id: 'admin-denied' }, heading, h('p', {}, 'The operations view is for members of the admin group. Ask an administrator to add you to it.')),
    );
    focusOn(heading);
    return;
  }
  const view = libraryView({ api, session, pollIntervalMs: config.pollIntervalMs });
  library = view;
  replaceChildren(main, uploadView({ api, session, concurrency: config.uploadConcurrency, onChange: () => void view.refresh() }), view.element);
}

async function boot() {
  let config: ConsoleConfig;
  try {
    config = await loadConfig();
  } catch (error) {
    replaceChildren(main, h('p', { class: 'error', role: 'alert' }, `The console is misconfigured: ${(error as Error).message}`));
    return;
  }
  let notice: string | undefined;
  if (config.auth.kind === 'cognito') {
    const result = await completeCognitoSignIn(config.auth);
    if (result && 'error' in result) notice = result.error;
  }
  window.addEventListener('hashchange', () => render(config));
  render(config, notice);
  document.body.dataset.ready = 'true';
}

void boot();
