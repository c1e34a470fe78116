// The API reference a person reads in a browser: one self-contained HTML page rendered from
// api/openapi.json by Swagger UI (swagger-ui-dist from the npm registry, inlined: no CDN, no
// request to any host but the API the reader calls).
//   node --import tsx web/api-reference.ts [--out FILE] [--server-url URL]      (make docs)
// writes target/docs/index.html by default. --server-url (API_URL=… for make docs) puts a deployed
// stage's URL first in the page's server list, so "Try it out" calls that stage.
//
// The same page serves local mode: the local server answers /_local/docs with this file, and
// there the page calls the server it came from, signed in with /_local/credentials.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const swaggerUi = path.join(root, 'node_modules', 'swagger-ui-dist');

/** Where `make docs` writes the page, and where the local server looks for it. */
export const DEFAULT_OUT = path.join('target', 'docs', 'index.html');

export interface ReferenceOptions {
  /** A deployed stage's base URL, listed before the contract's servers. */
  readonly serverUrl?: string;
}

/** The contract as the page shows it: the servers list extended, nothing else changed. */
export function pageContract(contract: Record<string, unknown>, options: ReferenceOptions = {}): Record<string, unknown> {
  if (!options.serverUrl) return contract;
  let url: URL;
  try {
    url = new URL(options.serverUrl);
  } catch {
    throw new Error(`--server-url must be an absolute http(s) URL, not ${JSON.stringify(options.serverUrl)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`--server-url must be an absolute http(s) URL, not ${JSON.stringify(options.serverUrl)}`);
  }
  const servers = (contract.servers as unknown[] | undefined) ?? [];
  return { ...contract, servers: [{ url: options.serverUrl.replace(/\/+$/, ''), description: 'deployed stage' }, ...servers] };
}

/** Text safe inside a <script> element: no `</script`, no `<!--`. */
function scriptText(text: string): string {
  return text.replace(/<(\/script|!--)/gi, '\\u003c$1');
}

// Runs in the browser. Local mode (the page under /_local/): the server list is the page's own
// origin, and the page signs in as ?sub=NAME (default "docs") with the server's
// /_local/credentials, so "Try it out" works at once. Elsewhere the reader authorizes by hand.
const INIT = String.raw`
(function () {
  var contract = JSON.parse(document.getElementById('contract').textContent);
  var local = location.pathname.indexOf('/_local/') === 0;
  var status = document.getElementById('status');
  if (local) contract.servers = [{ url: location.origin, description: 'this local server (make dev)' }];
  var ui = SwaggerUIBundle({
    spec: contract,
    dom_id: '#reference',
    deepLinking: true,
    docExpansion: 'list',
    defaultModelsExpandDepth: 1,
    defaultModelExpandDepth: 2,
    displayOperationId: true,
    displayRequestDuration: true,
    showExtensions: true,
    showCommonExtensions: true,
    persistAuthorization: false,
    // Swagger UI would otherwise send the contract to validator.swagger.io for a badge.
    validatorUrl: null,
    onComplete: function () {
      if (!local) return;
      var sub = new URLSearchParams(location.search).get('sub') || 'docs';
      fetch('/_local/credentials?sub=' + encodeURIComponent(sub), { cache: 'no-store' })
        .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
        .then(function (c) {
          ui.preauthorizeApiKey('CognitoIdToken', c.idToken);
          ui.preauthorizeApiKey('ApiKey', c.apiKey);
          status.textContent = 'Local mode: signed in as ' + c.sub + ' (an ID token and the API key from /_local/credentials). "Try it out" calls ' + location.origin + '.';
          status.dataset.state = 'signed-in';
        })
        .catch(function (e) {
          status.textContent = 'Local mode: /_local/credentials did not answer (' + e.message + '); authorize by hand.';
          status.dataset.state = 'failed';
        });
    }
  });
  window.ui = ui;
})();
`;

/** The whole page. */
export function renderReference(contract: Record<string, unknown>, options: ReferenceOptions = {}): string {
  const shown = pageContract(contract, options);
  const info = (shown.info ?? {}) as { title?: string; version?: string };
  const title = `${info.title ?? 'API'} ${info.version ?? ''}`.trim();
  const css = readFileSync(path.join(swaggerUi, 'swagger-ui.css'), 'utf8');
  const bundle = readFileSync(path.join(swaggerUi, 'swagger-ui-bundle.js'), 'utf8');
  const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
<style>#status{font:14px sans-serif;margin:0;padding:8px 20px;background:#f0f4f8;border-bottom:1px solid #d8dde3}#status:empty{display:none}</style>
</head>
<body>
<p id="status" role="status"></p>
<div id="reference"></div>
<script type="application/json" id="contract">${scriptText(JSON.stringify(shown))}</script>
<script>${scriptText(bundle)}</script>
<script>${scriptText(INIT)}</script>
</body>
</html>
`;
}

function main(argv: string[]): void {
  let out = DEFAULT_OUT;
  let serverUrl: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if ((arg === '--out' || arg === '--server-url') && value !== undefined && value !== '') {
      if (arg === '--out') out = value;
      else serverUrl = value;
      i++;
    } else if (arg === '--server-url' && value === '') {
      i++;
    } else {
      throw new Error('usage: api-reference.ts [--out FILE] [--server-url URL]');
    }
  }
  const contract = JSON.parse(readFileSync(path.join(root, 'api', 'openapi.json'), 'utf8')) as Record<string, unknown>;
  const page = renderReference(contract, serverUrl ? { serverUrl } : {});
  const target = path.resolve(root, out);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, page);
  process.stdout.write(`api reference: ${path.relative(root, target)} (${(page.length / 1024 / 1024).toFixed(1)} MB, self-contained)\n`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
