// What the browser tests start: the local server (as make dev runs it, on DynamoDB Local), small
// static servers that play client apps on other origins, and Debian's Chromium through
// playwright-core (never a browser download).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export const root = path.resolve(__dirname, '..', '..');
/** Screenshots, kept for a person to look at. */
export const SHOTS = path.join(root, 'target', 'browser');

/** The browser: CHROMIUM, else Debian's chromium, else a Chrome the machine has (GitHub's runners). */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/google-chrome'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no Chromium at ${candidates.join(' or ')}: run scripts/browser-test.sh (it installs Debian's chromium), or set CHROMIUM=PATH`);
  return found;
}

export interface Served {
  readonly origin: string;
  close(): Promise<void>;
}

/** Serves one HTML page at / on 127.0.0.1 (a free port): a client app on its own origin. */
export async function servePage(file: string): Promise<Served> {
  const html = readFileSync(file);
  const server = http.createServer((req, res) => {
    if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(html);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface LocalServer {
  readonly url: string;
  /** Everything it printed, for a failure message. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts target/debug/local-server (scripts/browser-test.sh builds it) on a free port with its own
 * table, on the DynamoDB Local of AWS_ENDPOINT_URL_DYNAMODB, allowing `corsOrigins`.
 */
export async function startLocalServer(corsOrigins: readonly string[]): Promise<LocalServer> {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!endpoint) throw new Error('AWS_ENDPOINT_URL_DYNAMODB is not set: run scripts/browser-test.sh, which starts DynamoDB Local');
  const bin = path.join(process.env.CARGO_TARGET_DIR ?? path.join(root, 'target'), 'debug', 'local-server');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: cargo build -p local-server`);
  const child: ChildProcess = spawn(bin, ['--port', '0', '--table', `browser-${randomBytes(4).toString('hex')}`], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'eu-west-1',
      LOCAL_JWT_SECRET: randomBytes(32).toString('hex'),
      LOCAL_CORS_ALLOW_ORIGINS: corsOrigins.join(','),
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let printed = '';
  child.stdout?.on('data', (d) => (printed += d));
  child.stderr?.on('data', (d) => (printed += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local-server did not start within 30 s:\n${printed}`)), 30_000);
    const look = () => {
      const m = /local-server listening on (http:\/\/\S+)/.exec(printed);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', look);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local-server exited (${code}):\n${printed}`));
    });
  });
  return {
    url,
    output: () => printed,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** An ID token for `sub` from the local server's credentials route. */
export async function credentials(server: LocalServer, sub: string): Promise<{ idToken: string; apiKey: string }> {
  const r = await fetch(`${server.url}/_local/credentials?sub=${encodeURIComponent(sub)}`);
  if (!r.ok) throw new Error(`/_local/credentials answered ${r.status}: ${await r.text()}`);
  return (await r.json()) as { idToken: string; apiKey: string };
}

export function screenshotPath(name: string): string {
  mkdirSync(SHOTS, { recursive: true });
  return path.join(SHOTS, `${name}.png`);
}
