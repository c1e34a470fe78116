// The API reference page's builder (web/api-reference.ts), without a browser.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { pageContract, renderReference } from '../api-reference';

const contract = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'api', 'openapi.json'), 'utf8'));

describe('the API reference page', () => {
  test('embeds the contract unchanged and loads nothing from another host', () => {
    const html = renderReference(contract);
    const embedded = /<script type="application\/json" id="contract">([\s\S]*?)<\/script>/.exec(html)?.[1];
    assert.ok(embedded, 'the contract is in the page');
    assert.deepEqual(JSON.parse(embedded), contract);
    assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=/i, 'no script, style sheet or image from elsewhere');
    assert.match(html, /validatorUrl: null/, "Swagger UI's online validator is off");
  });

  test('text that would close a script element stays inside it', () => {
    const hostile = { ...contract, info: { ...contract.info, description: 'x </script><script>alert(1)</script> <!-- y' } };
    const html = renderReference(hostile);
    assert.equal(html.match(/<\/script>/g)?.length, 3, 'only the page\'s own three script elements close');
    const embedded = /<script type="application\/json" id="contract">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    assert.equal(JSON.parse(embedded).info.description, hostile.info.description);
  });

  test('API_URL lists a deployed stage first, and must be an http(s) URL', () => {
    const shown = pageContract(contract, { serverUrl: 'https://api.example.com/' });
    assert.deepEqual((shown.servers as Array<{ url: string }>).map((s) => s.url), ['https://api.example.com', ...contract.servers.map((s: { url: string }) => s.url)]);
    assert.throws(() => pageContract(contract, { serverUrl: 'api.example.com' }), /absolute http\(s\) URL/);
    assert.throws(() => pageContract(contract, { serverUrl: 'javascript:alert(1)' }), /absolute http\(s\) URL/);
  });
});
