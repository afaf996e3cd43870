// The OAuth dance of the built-in authorization server in a real headless Chromium, as a
// person connecting an MCP client would do it: the consent page (screenshot saved), untick a
// scope, Allow, the Nextcloud login in the new tab, back to the progress page, and the
// redirect to the client's loopback callback (a listener of this script).
//
// Driven by tests/authorization_server.rs (browser_end_to_end), which registers the client,
// exchanges the code and calls an MCP tool with the token.
//
// Environment: PLAYWRIGHT_DIR (a node_modules holding playwright-core), CHROMIUM (the
// browser binary). Input: one JSON argument {base, client_id, code_challenge, state, scope,
// resource, untick, user, password, screenshot}. Output: one JSON line
// {redirect_uri, callback}.
import { createRequire } from 'node:module';
import http from 'node:http';

const require = createRequire(`${process.env.PLAYWRIGHT_DIR}/`);
const { chromium } = require('playwright-core');
const input = JSON.parse(process.argv[2]);
const started = Date.now();
// Progress on stderr, shown by the test when the dance fails.
const step = (what) => console.error(`${((Date.now() - started) / 1000).toFixed(1)}s ${what}`);

let resolveCallback;
const gotCallback = new Promise((resolve) => { resolveCallback = resolve; });
const listener = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<p>Connected. You can close this tab.</p>');
  resolveCallback(`http://${req.headers.host}${req.url}`);
});
await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
const redirectUri = `http://127.0.0.1:${listener.address().port}/callback`;

const url = new URL('/oauth/authorize', input.base);
for (const [k, v] of Object.entries({
  response_type: 'code',
  client_id: input.client_id,
  redirect_uri: redirectUri,
  code_challenge: input.code_challenge,
  code_challenge_method: 'S256',
  state: input.state,
  scope: input.scope,
  resource: input.resource,
})) url.searchParams.set(k, v);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  // No crash handler: it would outlive the browser holding this script's output open.
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-breakpad', '--disable-crash-reporter'],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  step('consent page');
  await page.goto(url.toString());
  await page.getByRole('heading', { level: 1 }).waitFor();
  await page.screenshot({ path: input.screenshot, fullPage: true });

  // Keyboard-reachable, labelled checkboxes: untick one by its label.
  const box = page.getByRole('checkbox', { name: new RegExp(input.untick.replace('.', '\\.')) });
  await box.uncheck();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(/\/oauth\/authorize\/progress\?id=/);
  step('progress page');

  // The Nextcloud login opens in a new tab.
  const [login] = await Promise.all([
    context.waitForEvent('page'),
    page.getByRole('link', { name: 'Log in to Nextcloud' }).click(),
  ]);
  await login.waitForLoadState();
  await login.getByLabel('Login or email').fill(input.user);
  await login.getByLabel('Password').fill(input.password);
  await login.getByRole('button', { name: 'Log in' }).click();
  await login.getByText('Account connected').waitFor();
  await login.close();
  step('logged in to Nextcloud');

  // Back in the first tab: it refreshes itself; "Check now" does the same at once.
  await page.getByRole('link', { name: 'Check now' }).click();
  const callback = await Promise.race([
    gotCallback,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no redirect to the client')), 30000)),
  ]);
  step('redirected to the client');
  console.log(JSON.stringify({ redirect_uri: redirectUri, callback }));
} finally {
  await browser.close();
  listener.close();
  step('closed');
}
// Done: do not wait for lingering keep-alive sockets or browser helpers.
process.exit(0);
