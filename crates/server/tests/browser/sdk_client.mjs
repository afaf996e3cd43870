// Interoperability: the official MCP TypeScript SDK's client, with its own OAuth support
// (an OAuthClientProvider), connects to the server knowing nothing but the MCP URL. The SDK
// gets the 401, reads the protected-resource and authorization-server metadata, registers
// dynamically, and asks for the browser; headless Chromium does the consent and the
// emulator's Nextcloud login; the SDK exchanges the code (PKCE) and calls a tool.
//
// Driven by tests/authorization_server.rs (typescript_sdk_client_interop).
// Environment: PLAYWRIGHT_DIR (a node_modules holding playwright-core and
// @modelcontextprotocol/sdk), CHROMIUM. Input: one JSON argument {mcp_url, user, password,
// note_id}. Output: one JSON line {client_id, scope, tool_result, refreshed}.
import { createRequire } from 'node:module';
import http from 'node:http';

const require = createRequire(`${process.env.PLAYWRIGHT_DIR}/`);
const { chromium } = require('playwright-core');
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
const { UnauthorizedError, auth } = require('@modelcontextprotocol/sdk/client/auth.js');
const input = JSON.parse(process.argv[2]);
const started = Date.now();
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

// An in-memory OAuthClientProvider, as a desktop client would keep one on disk.
let clientInformation;
let tokens;
let codeVerifier;
let authorizationUrl;
const provider = {
  get redirectUrl() { return redirectUri; },
  get clientMetadata() {
    return {
      client_name: 'TypeScript SDK client',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  },
  clientInformation() { return clientInformation; },
  saveClientInformation(info) { clientInformation = info; },
  tokens() { return tokens; },
  saveTokens(t) { tokens = t; },
  redirectToAuthorization(url) { authorizationUrl = url; },
  saveCodeVerifier(v) { codeVerifier = v; },
  codeVerifier() { return codeVerifier; },
};

const mcpUrl = new URL(input.mcp_url);
const first = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
try {
  await new Client({ name: 'sdk-interop', version: '1.0.0' }).connect(first);
  throw new Error('connected without authorization');
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
}
if (!authorizationUrl) throw new Error('the SDK did not ask for the browser');
step('SDK registered and built the authorization URL');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-breakpad', '--disable-crash-reporter'],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(authorizationUrl.toString());
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(/\/oauth\/authorize\/progress\?id=/);
  const [login] = await Promise.all([
    context.waitForEvent('page'),
    page.getByRole('link', { name: 'Log in to Nextcloud' }).click(),
  ]);
  await login.waitForLoadState();
  await login.getByLabel('Login or email').fill(input.user);
  await login.getByLabel('Password').fill(input.password);
  await login.getByRole('button', { name: 'Log in' }).click();
  await login.getByText('Account connected').waitFor();
  await page.getByRole('link', { name: 'Check now' }).click();
} finally {
  await browser.close();
}
const callback = new URL(await Promise.race([
  gotCallback,
  new Promise((_, reject) => setTimeout(() => reject(new Error('no redirect to the client')), 30000)),
]));
listener.close();
step('browser done');

await first.finishAuth(callback.searchParams.get('code'));
const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
const client = new Client({ name: 'sdk-interop', version: '1.0.0' });
await client.connect(transport);
const toolResult = await client.callTool({ name: 'nc_notes_get_note', arguments: { note_id: input.note_id } });
await client.close();
step('tool called');

// The SDK's refresh against this server: rotation gives a new pair.
const before = tokens.refresh_token;
tokens = { ...tokens, access_token: 'expired' };
const outcome = await auth(provider, { serverUrl: mcpUrl });
const refreshed = outcome === 'AUTHORIZED' && tokens.refresh_token !== before && tokens.access_token !== 'expired';
step('refreshed');

console.log(JSON.stringify({
  client_id: clientInformation.client_id,
  scope: tokens.scope,
  tool_result: toolResult,
  refreshed,
}));
process.exit(0);
