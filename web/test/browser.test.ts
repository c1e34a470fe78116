// In a real browser (Debian's Chromium, driven by playwright-core): a client app on another
// origin uses the API with fetch, a page on an origin the stage does not allow is blocked, and
// the API reference renders every operation and runs a "Try it out" call. scripts/browser-test.sh
// runs this (make test does); screenshots go to target/browser/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumPath, credentials, root, screenshotPath, servePage, startLocalServer, type LocalServer, type Served } from './harness';

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly operationId: string;
  readonly responses: Record<string, { $ref?: string; content?: Record<string, { example?: unknown }> }>;
}

const contract = JSON.parse(readFileSync(path.join(root, 'api', 'openapi.json'), 'utf8'));
const operations: Operation[] = Object.entries(contract.paths as Record<string, Record<string, Operation>>).flatMap(([p, item]) =>
  Object.entries(item).map(([method, op]) => ({ ...op, method: method.toUpperCase(), path: p })),
);

let browser: Browser;
let server: LocalServer;
let allowed: Served;
let disallowed: Served;

/** A new page that records every host it contacts and every console error. */
async function openPage(): Promise<{ page: Page; hosts: Set<string>; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const hosts = new Set<string>();
  const errors: string[] = [];
  page.on('request', (r) => hosts.add(new URL(r.url()).host));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, hosts, errors };
}

before(async () => {
  allowed = await servePage(path.join(__dirname, 'client-app.html'));
  disallowed = await servePage(path.join(__dirname, 'client-app.html'));
  server = await startLocalServer([allowed.origin]);
  browser = await chromium.launch({ executablePath: chromiumPath() });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await allowed?.close();
  await disallowed?.close();
});

describe('a client app on another origin', () => {
  test('on an allowed origin it creates, reads the ETag, patches with If-Match and reads the problems', async () => {
    const { page, errors } = await openPage();
    const { idToken, apiKey } = await credentials(server, 'browser-alice');
    await page.goto(allowed.origin);
    const out = await page.evaluate((args) => (globalThis as unknown as { clientRun: (a: unknown) => Promise<Record<string, any>> }).clientRun(args), {
      api: server.url,
      token: idToken,
      apiKey,
    });
    await page.screenshot({ path: screenshotPath('client-app-allowed-origin'), fullPage: true });
    assert.equal(out.create.status, 201);
    assert.match(out.create.etag ?? '', /^"1"$/, 'the page reads ETag (exposed)');
    assert.match(out.create.location ?? '', new RegExp(`/v1/items/${out.create.body.id}$`), 'the page reads Location (exposed)');
    assert.equal(out.read.status, 200);
    assert.equal(out.read.etag, '"1"');
    assert.equal(out.patch.status, 200);
    assert.equal(out.patch.etag, '"2"');
    assert.equal(out.patch.body.description, 'changed with If-Match');
    assert.equal(out.stale.status, 412, 'a stale If-Match is refused');
    assert.match(out.stale.contentType ?? '', /^application\/problem\+json/);
    assert.equal(out.stale.body.status, 412);
    assert.match(out.stale.body.type, /precondition-failed$/);
    assert.equal(out.unauthorized.status, 401, "the gateway's 401 is readable");
    assert.match(out.unauthorized.contentType ?? '', /^application\/problem\+json/);
    assert.equal(out.unauthorized.body.status, 401);
    assert.match(out.unauthorized.body.type, /unauthorized$/);
    // Chromium logs every 4xx it loads (the 412, the 401, the page server's favicon 404); anything else is a CORS or script error.
    assert.deepEqual(errors.filter((e) => !e.startsWith('Failed to load resource: the server responded with a status of 4')), [], 'no CORS or script error in the console');
    await page.close();
  });

  test('on an origin the stage does not allow, the browser blocks the call', async () => {
    const { page, errors } = await openPage();
    const { idToken, apiKey } = await credentials(server, 'browser-mallory');
    await page.goto(disallowed.origin);
    const out = await page.evaluate((args) => (globalThis as unknown as { clientTry: (a: unknown) => Promise<Record<string, any>> }).clientTry(args), {
      api: server.url,
      token: idToken,
      apiKey,
    });
    await page.screenshot({ path: screenshotPath('client-app-disallowed-origin'), fullPage: true });
    assert.equal(out.status, undefined, `the page read an answer: ${JSON.stringify(out)}`);
    assert.match(out.blocked, /^TypeError: Failed to fetch/);
    assert.ok(
      errors.some((e) => e.includes('CORS policy') && e.includes(disallowed.origin)),
      `Chromium names CORS as the reason: ${JSON.stringify(errors)}`,
    );
    await page.close();
  });
});

describe('the API reference at /_local/docs', () => {
  test('renders every operation with its responses, examples and the schemas, and "Try it out" calls the API', async () => {
    const { page, hosts, errors } = await openPage();
    await page.goto(`${server.url}/_local/docs?sub=browser-docs`);
    await page.waitForSelector('#status[data-state="signed-in"]', { timeout: 30_000 });
    await page.screenshot({ path: screenshotPath('api-reference'), fullPage: true });

    for (const op of operations) {
      const block = page.locator(`#operations-default-${op.operationId}`);
      assert.equal(await block.count(), 1, `${op.operationId} is shown`);
      assert.equal((await block.locator('.opblock-summary-method').textContent())?.trim(), op.method);
      await block.locator('.opblock-summary-control').click();
      await block.locator('.responses-table').first().waitFor();
      const codes = await block.locator('.responses-table tr.response').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-code')));
      assert.deepEqual([...codes].sort(), Object.keys(op.responses).sort(), `${op.operationId}: every response, errors included`);
      for (const [code, declared] of Object.entries(op.responses)) {
        const response = declared.$ref ? contract.components.responses[declared.$ref.split('/').pop() as string] : declared;
        const example = Object.values((response.content ?? {}) as Record<string, { example?: Record<string, unknown> }>)[0]?.example;
        if (!example) continue;
        const marker = String(example.type ?? example.name ?? (example.items as Array<{ name: string }> | undefined)?.[0]?.name);
        const row = block.locator(`.responses-table tr.response[data-code="${code}"]`);
        assert.ok((await row.textContent())?.includes(marker), `${op.operationId} ${code}: the example (${marker}) is shown`);
      }
    }
    for (const name of Object.keys(contract.components.schemas)) {
      assert.equal(await page.locator(`#model-${name}`).count(), 1, `the schema ${name} is shown`);
    }

    // Try it out: create from the request example, then list.
    const create = page.locator('#operations-default-createItem');
    await create.locator('.try-out__btn').click();
    await create.locator('.execute').click();
    const created = create.locator('.live-responses-table tr.response .response-col_status').first();
    await created.waitFor({ timeout: 15_000 });
    assert.equal((await created.textContent())?.trim(), '201');
    const list = page.locator('#operations-default-listItems');
    await list.locator('.try-out__btn').click();
    await list.locator('.execute').click();
    const listed = list.locator('.live-responses-table tr.response .response-col_status').first();
    await listed.waitFor({ timeout: 15_000 });
    assert.equal((await listed.textContent())?.trim(), '200');
    assert.ok((await list.locator('.live-responses-table').textContent())?.includes('Garden hose'), 'the list holds the item "Try it out" created');
    await create.screenshot({ path: screenshotPath('api-reference-create-item-tried') });
    await list.screenshot({ path: screenshotPath('api-reference-list-items-tried') });

    assert.deepEqual([...hosts], [new URL(server.url).host], 'the page contacts the local server only');
    assert.deepEqual(errors, [], 'no script error or Content-Security-Policy violation');
    await page.close();
  });
});
