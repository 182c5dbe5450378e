// End to end: the operator console in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core; nothing is downloaded).
//
// Starts a real node (CURVE on, its own keys, the console on a free
// loopback port) and a real executor, runs a workflow that stops at a gate
// and one that asks the operator a question, then works through the console
// as an operator would: sign in, read the approval's facts, correct an
// argument, approve, answer the question, watch the instances finish, find
// the audit entries. Also checks what must not work: no data without a
// session, no change from a post without the CSRF token or from another
// site, a second approval refused cleanly, bad input refused with a clear
// error, a rotated token signing everyone out.
//
// Screenshots of every page (desktop and a narrow phone) go to
// $KEEL_SCREENSHOT_DIR (default build/console-screenshots).
//
//   KEEL_BIN=build/tools/keel KEELCTL_BIN=build/tools/keelctl node tests/browser/console.test.mjs
// Exit codes: 0 passed, 1 failed, 77 skipped (no chromium or playwright-core).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';

const chromiumPath = process.env.KEEL_CHROMIUM || '/usr/bin/chromium';
// tools/test.sh sets KEEL_REQUIRE_BROWSER=1: there a missing browser is a
// failure, so the suite can never pass without running this test.
const skip = (why) => {
  const required = process.env.KEEL_REQUIRE_BROWSER === '1';
  console.log(`${required ? 'FAIL' : 'SKIP'}: ${why}`);
  process.exit(required ? 1 : 77);
};
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  skip('playwright-core is not installed (run `npm ci` in tests/browser, or tools/setup.sh --with-test-tools)');
}
if (!fs.existsSync(chromiumPath)) {
  skip(`no Chromium at ${chromiumPath} (apt-get install chromium, or tools/setup.sh --with-test-tools)`);
}

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const keelBin = process.env.KEEL_BIN || path.join(root, 'build/tools/keel');
const keelctlBin = process.env.KEELCTL_BIN || path.join(root, 'build/tools/keelctl');
const shots = process.env.KEEL_SCREENSHOT_DIR || path.join(root, 'build/console-screenshots');
fs.mkdirSync(shots, { recursive: true });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-console-'));
const dataDir = path.join(dir, 'data');
const children = [];

// --- helpers ---

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// Polls `cond` until it returns something truthy; fails naming `what`.
async function waitFor(what, cond, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try { last = await cond(); if (last) return last; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

function start(name, argv) {
  const log = fs.openSync(path.join(dir, name + '.log'), 'a');
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', log] });
  child.out = '';
  child.stdout.on('data', (d) => { child.out += d; fs.appendFileSync(path.join(dir, name + '.log'), d); });
  children.push(child);
  return child;
}

let endpoint;
function keelctl(...args) {
  const out = execFileSync(keelctlBin, ['--endpoint', endpoint, '--data-dir', dataDir, '--json', ...args],
                           { encoding: 'utf8', env: { ...process.env, KEEL_OPERATOR: 'cli' } });
  return JSON.parse(out);
}

function rawRequest(url, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

let step = 0;
async function shot(page, name) {
  const file = path.join(shots, `${String(++step).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

function approvals() { return keelctl('approvals'); }

// --- the node, an executor, two workflows ---

const zmqPort = await freePort();
const httpPort = await freePort();
endpoint = `tcp://127.0.0.1:${zmqPort}`;
const base = `http://127.0.0.1:${httpPort}/`;
fs.mkdirSync(path.join(dir, 'workflows'), { recursive: true });
fs.writeFileSync(path.join(dir, 'workflows/refund.yaml'), `
name: refund
version: 1
description: refund a charge; large ones need the operator
steps:
  - id: lookup
    action: records.get
    args: {type: customer, field: email, value: "{{ input.email }}"}
  - id: notes
    needs: [lookup]
    action: memory.search
    args: {query: "refund promised", mentions: "{{ input.email }}", kinds: [note], k: 3}
  - id: pay
    needs: [notes]
    action: echo
    args: {customer: "{{ input.customer_id }}", amount: "{{ input.amount }}", currency: eur}
    gate: {when: "input.amount > 100"}
`);
fs.writeFileSync(path.join(dir, 'workflows/onboarding.yaml'), `
name: onboarding
version: 1
steps:
  - id: plan
    ask: "Which plan should {{ input.customer_id }} start on?"
    timeout: 24h
    on_timeout: default
    default: basic
  - id: welcome
    needs: [plan]
    action: echo
    args: {plan: "{{ steps.plan.result.answer }}"}
`);
// An agent whose tool calls the policy holds for the operator, and a model draft the operator reviews.
fs.writeFileSync(path.join(dir, 'workflows/assist.yaml'), `
name: assist
version: 1
steps:
  - id: act
    agent:
      goal: "Tell {{ input.customer_id }} their refund is on its way"
      tools: [echo]
`);
fs.writeFileSync(path.join(dir, 'workflows/reply.yaml'), `
name: reply
version: 1
steps:
  - id: draft
    model: generate
    review: true
    prompt: "Write a short reply to {{ input.customer_id }} about their refund"
  - id: send
    needs: [draft]
    action: echo
    args: {text: "{{ steps.draft.result.text }}"}
`);
fs.writeFileSync(path.join(dir, 'policy.yaml'), `version: 1
default: allow
rules:
  - name: agent-echo
    effect: escalate
    match: {workflow: assist, action: echo}
    reason: the operator sees what the agent sends
`);
// The scripted OpenAI-compatible server (tests/support/openai_test_server.py) stands in for the model.
const modelPortFile = path.join(dir, 'model.port');
start('model', ['/usr/bin/python3', path.join(root, 'tests/support/openai_test_server.py'), '--port-file', modelPortFile]);
await waitFor('the model server', () => fs.existsSync(modelPortFile) && fs.readFileSync(modelPortFile, 'utf8').trim());
const modelPort = fs.readFileSync(modelPortFile, 'utf8').trim();
async function scriptModel(body) {
  const text = JSON.stringify(body);
  const r = await rawRequest(`http://127.0.0.1:${modelPort}/_default`,
                             { method: 'POST', body: text, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) } });
  assert.equal(r.status, 200, 'the model server took the script');
}
// The shipped config (its memory section declares customers), on test ports.
const config = path.join(dir, 'node.yaml');
const shipped = fs.readFileSync(path.join(root, 'config/node.yaml'), 'utf8');
fs.writeFileSync(config, shipped.replace(/^  port: 7402 /m, `  port: ${httpPort} `)
                                .replace(/^  dir: config\/workflows /m, `  dir: ${path.join(dir, 'workflows')} `)
                                .replace(/^  file: "" /m, `  file: ${path.join(dir, 'policy.yaml')} `) +
                 '\noperator: {name: ana, email: ana@example.com}\n' +
                 `models:\n  default_tier: quality\n  chain: [quality]\n  providers:\n` +
                 `    - {name: local, kind: openai, base_url: "http://127.0.0.1:${modelPort}", timeout: 5s, retries: 0}\n` +
                 `  tiers:\n    quality: {provider: local, model: test-model}\n`);
assert.ok(fs.readFileSync(config, 'utf8').includes('policy.yaml'), 'the test config has the test policy');
assert.ok(fs.readFileSync(config, 'utf8').includes(`port: ${httpPort}`), 'the test config has the test port');

let browser;
let current;  // the page in use, for a screenshot when something fails
let failed = false;
try {
  const node = start('node', [keelBin, 'node', '--config', config, '--data-dir', dataDir, '--listen', endpoint]);
  await waitFor('the node to be ready', () => node.out.includes('keel node ready') || (node.exitCode !== null && Promise.reject(new Error('node exited: ' + fs.readFileSync(path.join(dir, 'node.log'), 'utf8')))));
  const printed = node.out.match(/keel console: (\S+)\s+login token: ([0-9a-f]+)/);
  assert.ok(printed, 'the first start prints the console URL and login token: ' + node.out);
  assert.equal(printed[1], base);
  let token = printed[2];
  const tokenFile = path.join(dataDir, 'console.token');
  assert.equal(fs.readFileSync(tokenFile, 'utf8').trim(), token, 'the token is kept in DATA_DIR/console.token');
  assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600, 'the token file is private');

  const execPub = execFileSync(keelBin, ['keygen', '--out', path.join(dir, 'exec.key')], { encoding: 'utf8' }).trim().split(/\s+/).pop();
  keelctl('executors', 'authorize', execPub, '--name', 'x1');
  start('executor', [keelBin, 'executor', '--connect', endpoint, '--server-key', fs.readFileSync(path.join(dataDir, 'node.pub'), 'utf8').trim(),
                     '--key', path.join(dir, 'exec.key'), '--caps', 'echo', '--name', 'x1']);
  await waitFor('the executor to register', () => keelctl('executors').executors.length === 1);
  keelctl('records', 'put', 'customer', 'c_42', '{"email": "ana.customer@example.com", "plan": "basic"}', '--source', 'crm');
  keelctl('records', 'put', 'customer', 'c_42', '{"plan": "pro"}', '--source', 'stripe');
  keelctl('memory', 'add', 'Support promised ana.customer@example.com a refund of the double charge', '--about', 'customer:c_42', '--source', 'support');
  keelctl('memory', 'add', 'Support promised bob@example.com a refund of his double charge', '--source', 'support');  // not hers: filtered out

  const refund = keelctl('run-workflow', 'refund', '--input', '{"customer_id": "c_42", "email": "Ana.Customer@example.com", "amount": 250}').instance;
  const gateId = `${refund}/pay`;
  await waitFor('the refund to wait at its gate', () => approvals().approvals.some((a) => a.id === gateId));

  // --- no session: 401 and no data ---
  for (const p of ['', 'inbox', 'inbox/items', `work/${refund}`, 'work/items', 'system', 'system/audit', 'report', 'memory?type=customer&id=c_42']) {
    const r = await rawRequest(base + p);
    assert.equal(r.status, 401, `GET /${p} without a session`);
    assert.ok(!r.text.includes(refund) && !r.text.includes('c_42') && !r.text.includes('approval'), `GET /${p} shows no data`);
  }
  const unauth = await rawRequest(base + 'inbox/decide', { method: 'POST', body: `id=${encodeURIComponent(gateId)}&decision=approve`,
                                                            headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(unauth.status, 401, 'a decision without a session');
  const metrics = await rawRequest(base + 'metrics');
  assert.equal(metrics.status, 200, '/metrics stays open for Prometheus');

  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await desktop.newPage();
  current = page;
  const consoleErrors = [];
  // (A page answered with 401/404 on purpose logs "Failed to load resource": not a script error.)
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });

  // --- sign in, with the keyboard alone ---
  let res = await page.goto(base);
  assert.equal(res.status(), 401);
  await shot(page, 'login-desktop');
  await page.keyboard.type('not-the-token');
  await page.keyboard.press('Enter');
  await page.waitForURL(base + 'login');
  assert.match(await page.locator('[role=alert]').innerText(), /token is not right/);
  await page.locator('#token').focus();
  await page.keyboard.type(token);
  await page.keyboard.press('Enter');
  await page.waitForURL(base + 'inbox');
  const cookie = (await desktop.cookies()).find((c) => c.name === 'keel_console');
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict');

  // --- the approval and its facts ---
  const card = page.locator(`article[data-id="${gateId}"]`);
  await card.waitFor();
  const facts = await card.innerText();
  for (const want of ['refund', 'pay', 'echo', '"amount": 250', '"currency": "eur"', 'input.amount > 100',
                      // the canonical record as it is now, and the retrieval chain with provenance
                      'Canonical record', 'customer c_42 · version 2', 'read by step lookup', 'ana.customer@example.com',
                      'Retrieval chain', 'searched memory for “refund promised”', 'Support promised ana.customer@example.com a refund', 'support'])
    assert.ok(facts.includes(want), `the approval shows ${want}: ${facts}`);
  assert.ok(!facts.includes('bob@example.com'), `the search is filtered to the customer: ${facts}`);
  const recordLink = card.locator('dd.record a');
  assert.equal(await recordLink.getAttribute('href'), '/memory?type=customer&id=c_42', 'the record links to its history');
  const gateFacts = approvals().approvals.find((a) => a.id === gateId).facts;
  assert.equal(gateFacts.record.id, 'c_42', 'keelctl approvals --json carries the same record');
  assert.equal(gateFacts.retrieval[1].hits[0].source, 'support', 'and the same retrieval chain');
  assert.equal(gateFacts.retrieval[1].hits.length, 1, 'only her history');
  await shot(page, 'inbox-desktop');

  // --- forged posts change nothing ---
  const form = { id: gateId, decision: 'approve' };
  res = await page.request.post(base + 'inbox/decide', { form });
  assert.equal(res.status(), 403, 'a post without the CSRF token');
  res = await page.request.post(base + 'inbox/decide', { form: { ...form, csrf: 'f'.repeat(64) } });
  assert.equal(res.status(), 403, 'a post with a wrong CSRF token');
  // A page on another site that posts a form to the console on load.
  const evilPort = await freePort();
  const evil = http.createServer((req, r) => {
    r.setHeader('Content-Type', 'text/html');
    r.end(`<form id=f method=post action="${base}inbox/decide"><input name=id value="${gateId}"><input name=decision value=approve></form>` +
          '<script>document.getElementById("f").submit()</script>');
  }).listen(evilPort, '127.0.0.1');
  const evilPage = await desktop.newPage();
  const evilNav = evilPage.waitForResponse((r) => r.url() === base + 'inbox/decide');
  await evilPage.goto(`http://localhost:${evilPort}/`);
  const evilRes = await evilNav;
  assert.ok([401, 403].includes(evilRes.status()), `a cross-site form post is refused (got ${evilRes.status()})`);
  await evilPage.close();
  evil.close();
  assert.ok(approvals().approvals.some((a) => a.id === gateId), 'the forged posts changed nothing');

  // --- bad input: a clear error, nothing changes ---
  const csrf = await page.locator('input[name=csrf]').first().inputValue();
  res = await page.request.post(base + 'inbox/decide', { form: { ...form, csrf, args: '{"amount": ' } });
  assert.equal(res.status(), 400);
  assert.match(await res.text(), /not a JSON object; nothing was approved/);
  res = await page.request.post(base + 'inbox/decide', { form: { ...form, csrf, args: '[1, 2]' } });
  assert.equal(res.status(), 400);
  res = await page.request.post(base + 'inbox/decide', { form: { id: 'wf_nope/pay', decision: 'approve', csrf } });
  assert.equal(res.status(), 404);
  assert.match(await res.text(), /no workflow instance &#39;wf_nope&#39;/);
  res = await page.request.post(base + 'inbox/decide', { form: { ...form, csrf, comment: 'x'.repeat(300 * 1024) } });
  assert.equal(res.status(), 413, 'an oversized form');
  assert.ok(approvals().approvals.some((a) => a.id === gateId), 'bad input changed nothing');

  // --- correct an argument, approve ---
  await card.locator('summary', { hasText: 'Edit the arguments' }).click();
  const argsBox = card.locator('textarea[name=args]');
  const proposed = JSON.parse(await argsBox.inputValue());
  assert.equal(proposed.amount, 250);
  await argsBox.fill(JSON.stringify({ ...proposed, amount: 200 }, null, 2));
  await card.locator('input[name=comment]').last().fill('partial refund agreed by phone');
  await shot(page, 'inbox-correction-desktop');
  await card.getByRole('button', { name: 'Approve with these arguments' }).click();
  await page.waitForURL(base + 'inbox');
  assert.match(await page.locator('.notice').innerText(), new RegExp(`Approved ${gateId} with corrected arguments`));
  assert.equal(await page.locator(`article[data-id="${gateId}"]`).count(), 0, 'the approval left the inbox');

  // --- a second approval of the same item is refused cleanly ---
  const csrf2 = await page.locator('input[name=csrf]').first().inputValue();
  res = await page.request.post(base + 'inbox/decide', { form: { ...form, csrf: csrf2 } });
  assert.equal(res.status(), 409);
  assert.match(await res.text(), /already approved by ana/);

  // --- the instance finishes, with the corrected amount ---
  await page.goto(base + 'work');
  await page.locator(`a[href="/work/${refund}"]`).click();
  await page.waitForURL(base + `work/${refund}`);
  await page.locator('#instance .summary .badge', { hasText: 'completed' }).waitFor({ timeout: 20000 });
  const timeline = await page.locator('#instance').innerText();
  assert.ok(timeline.includes('gate_decided') && timeline.includes('"amount":200'), 'the timeline shows the decision and the corrected run');
  assert.ok(timeline.includes('with corrected arguments'), 'the step says it ran corrected');
  const task = keelctl('task', refund);
  assert.equal(task.state, 'completed');
  assert.equal(task.steps.find((s) => s.id === 'pay').result.amount, 200, 'the action ran with the corrected amount');
  await shot(page, 'instance-desktop');
  await page.goto(base + 'work');
  await shot(page, 'work-desktop');

  // --- a question, answered in a text box (live: it appears without a reload) ---
  await page.goto(base + 'inbox');
  const onboarding = keelctl('run-workflow', 'onboarding', '--input', '{"customer_id": "c_42"}').instance;
  const question = page.locator(`article[data-id="${onboarding}/plan"]`);
  await question.waitFor({ timeout: 15000 });
  assert.match(await question.innerText(), /Which plan should c_42 start on\?/);
  assert.match(await question.locator('.deadline').innerText(), /takes the default answer “basic” in \d/, 'the question shows its timeout');
  await shot(page, 'inbox-question-desktop');
  await question.locator('textarea[name=answer]').fill('pro, billed yearly');
  await question.getByRole('button', { name: 'Answer' }).click();
  await page.waitForURL(base + 'inbox');
  assert.match(await page.locator('.notice').innerText(), /Answered/);
  await waitFor('onboarding to complete', () => keelctl('task', onboarding).state === 'completed');
  assert.equal(keelctl('task', onboarding).steps.find((s) => s.id === 'welcome').result.plan, 'pro, billed yearly');

  // --- an agent's tool call held by the policy, approved here; the loop goes on ---
  await scriptModel({ tools_until: 1, tool: 'echo', arguments: { message: 'your refund is on its way' }, content: 'Told c_42.' });
  const assist = keelctl('run-workflow', 'assist', '--input', '{"customer_id": "c_42"}').instance;
  const callId = `${assist}/act/1/1`;
  const held = page.locator(`article[data-id="${callId}"]`);
  await held.waitFor({ timeout: 15000 });
  const heldText = await held.innerText();
  for (const want of ['echo', 'agent-echo', 'your refund is on its way'])
    assert.ok(heldText.includes(want), `the held tool call shows ${want}: ${heldText}`);
  await shot(page, 'inbox-tool-call-desktop');
  await held.getByRole('button', { name: 'Approve', exact: true }).click();
  await page.waitForURL(base + 'inbox');
  await waitFor('the agent to finish', () => keelctl('task', assist).state === 'completed');
  const agentRun = keelctl('runs', 'agent', assist).agents[0];
  assert.equal(agentRun.result.text, 'Told c_42.');
  assert.equal(agentRun.agent.calls['1/1'].result.message, 'your refund is on its way', 'the approved call ran and its result reached the model');

  // --- a model draft edited in its box and approved ---
  await scriptModel({ content: 'Hi, your refund is coming.' });
  const reply = keelctl('run-workflow', 'reply', '--input', '{"customer_id": "c_42"}').instance;
  const draftCard = page.locator(`article[data-id="${reply}/draft"]`);
  await draftCard.waitFor({ timeout: 15000 });
  const draftBox = draftCard.locator('textarea[name=draft]');
  assert.equal(await draftBox.inputValue(), 'Hi, your refund is coming.', 'the draft is in an edit box');
  await draftBox.fill('Dear Ana, your refund of 200.00 is on its way.');
  await shot(page, 'inbox-draft-desktop');
  await draftCard.getByRole('button', { name: 'Approve this text' }).click();
  await page.waitForURL(base + 'inbox');
  await waitFor('the reply to be sent', () => keelctl('task', reply).state === 'completed');
  const sent = keelctl('task', reply).steps.find((s) => s.id === 'send').result;
  assert.equal(sent.text, 'Dear Ana, your refund of 200.00 is on its way.', 'the edited text went out');

  // --- the audit trail: the console's decisions, with who and how ---
  await page.goto(base + 'system');
  await page.locator('#audit-verify', { hasText: 'verified' }).waitFor();
  const audit = await page.locator('#audit').innerText();
  assert.ok(audit.includes('approval') && audit.includes(gateId) && audit.includes('ana'), 'the approval is in the audit trail');
  assert.ok(audit.includes('"via":"console"') && audit.includes('correction'), 'with the correction and the console as the channel');
  assert.ok(audit.includes('clarification'), 'the answer is in the audit trail');
  const tail = keelctl('audit', 'tail', '-n', '50').entries;
  const entry = tail.find((e) => e.kind === 'approval' && e.subject === gateId);
  assert.equal(entry.actor, 'console:ana', 'the console session that decided, not a typed name');
  assert.deepEqual(entry.detail.correction.after.amount, 200);
  assert.equal(entry.detail.correction.before.amount, 250);
  assert.equal(keelctl('audit', 'verify').ok, true);
  // The trail filtered to one kind: the live part keeps the filter.
  await page.goto(base + 'system?kind=approval');
  await page.locator('#audit', { hasText: 'approval' }).waitFor();
  const onlyApprovals = await page.locator('#audit').innerText();
  assert.ok(onlyApprovals.includes(gateId) && !onlyApprovals.includes('clarification'), 'only approvals are shown');
  assert.equal(await page.locator('#kind').inputValue(), 'approval');
  assert.equal(await page.locator('#audit').getAttribute('data-live'), '/system/audit?kind=approval');
  await page.goto(base + 'system');
  const system = await page.locator('main').innerText();
  for (const want of ['executor', 'planner', 'x1', 'Budgets and spend']) assert.ok(system.includes(want), `System shows ${want}`);
  await shot(page, 'system-desktop');

  // --- the report: the refund's gate was this session's manual work ---
  await page.goto(base + 'report');
  const report = await page.locator('main').innerText();
  assert.ok(report.includes('refund') && report.includes('Where your time goes'), 'the report names the refund as manual work');
  assert.ok((await page.locator('main svg[role="img"]').count()) >= 3, 'three inline charts');
  assert.ok((await page.locator(`main a[href="/work/${refund}"]`).count()) >= 1, 'the manual work links to its instance');
  await shot(page, 'report-desktop');

  // --- customers and memory ---
  await page.goto(base + 'memory');
  await page.locator('#rid').fill('c_42');
  await page.locator('#rid').press('Enter');
  await page.waitForURL(/memory\?type=customer&id=c_42/);
  const record = await page.locator('main').innerText();
  assert.ok(record.includes('ana.customer@example.com') && record.includes('stripe') && record.includes('crm'), 'the record with its sources');
  await shot(page, 'record-desktop');
  await page.locator('#mq').fill('ANA.customer');
  await page.locator('#mq').press('Enter');
  await page.locator('#h-found').waitFor();
  const found = page.locator('section[aria-labelledby=h-found] table');
  assert.match(await found.innerText(), /customer c_42/, 'record search finds the customer by email, any case');
  assert.match(await page.locator('section[aria-labelledby=h-search]').innerText(), /Memory matching/);
  await shot(page, 'memory-desktop');
  await found.getByRole('link', { name: 'customer c_42' }).click();
  await page.waitForURL(/memory\?type=customer&id=c_42/);
  assert.match(await page.locator('main').innerText(), /Version history/, 'a search hit opens the record and its history');
  res = await page.goto(base + 'memory?type=customer&id=nobody');
  assert.equal(res.status(), 404);

  assert.deepEqual(external, [], 'nothing is loaded from another origin');
  assert.deepEqual(consoleErrors, [], 'no script errors');

  // --- a narrow phone screen ---
  const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const mobile = await phone.newPage();
  current = mobile;
  await mobile.goto(base + 'login');
  await shot(mobile, 'login-phone');
  await mobile.locator('#token').fill(token);
  await mobile.getByRole('button', { name: 'Sign in' }).click();
  await mobile.waitForURL(base + 'inbox');
  const refund2 = keelctl('run-workflow', 'refund', '--input', '{"customer_id": "c_42", "email": "ana.customer@example.com", "amount": 900}').instance;
  await mobile.locator(`article[data-id="${refund2}/pay"]`).waitFor({ timeout: 15000 });
  await shot(mobile, 'inbox-phone');
  const overflow = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the inbox fits a phone screen (overflows by ${overflow}px)`);
  for (const [p, name] of [['work', 'work'], [`work/${refund}`, 'instance'], ['memory?type=customer&id=c_42', 'memory'],
                           ['memory?q=c_42', 'search'], ['system', 'system']]) {
    await mobile.goto(base + p);
    await shot(mobile, `${name}-phone`);
    const o = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(o <= 1, `${name} fits a phone screen (overflows by ${o}px)`);
  }

  // --- rotating the token signs everyone out ---
  const rotated = keelctl('console', 'token');
  assert.notEqual(rotated.token, token);
  res = await page.goto(base + 'inbox');
  assert.equal(res.status(), 401, 'the old session ended');
  await page.locator('#token').fill(token);
  await page.locator('#token').press('Enter');
  assert.match(await page.locator('[role=alert]').innerText(), /token is not right/, 'the old token is refused');
  token = rotated.token;
  await page.locator('#token').fill(token);
  await page.locator('#token').press('Enter');
  await page.waitForURL(base + 'inbox');
  console.log(`PASS: console end to end (screenshots in ${shots})`);
} catch (e) {
  failed = true;
  console.error('FAIL:', e && e.stack ? e.stack : e);
  if (current) {
    await current.screenshot({ path: path.join(shots, 'failure.png'), fullPage: true }).catch(() => {});
    console.error(`page at failure: ${current.url()} (screenshot: ${path.join(shots, 'failure.png')})\n` +
                  (await current.locator('main').innerText().catch(() => '')).slice(0, 2000));
  }
  for (const name of ['node', 'executor', 'model']) {
    const f = path.join(dir, name + '.log');
    if (fs.existsSync(f)) console.error(`--- ${name}.log (last 4000 bytes) ---\n` + fs.readFileSync(f, 'utf8').slice(-4000));
  }
} finally {
  if (browser) await browser.close().catch(() => {});
  for (const c of children.reverse()) {
    if (c.exitCode === null) {
      c.kill('SIGTERM');
      await Promise.race([new Promise((r) => c.once('exit', r)), new Promise((r) => setTimeout(r, 10000))]);
      if (c.exitCode === null) c.kill('SIGKILL');
    }
  }
  if (!failed && !process.env.KEEL_KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
  else console.error(`test dir kept: ${dir}`);
}
process.exit(failed ? 1 : 0);
