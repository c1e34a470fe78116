import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseContract } from '../lib/contract';
import { USER_LIMIT_MAX_REQUESTS, USER_LIMIT_MAX_WINDOW_SECONDS } from '../lib/config';
import { DEFAULT_TIMEOUT } from '../lib/rust-function';
import { REPO_ROOT } from './helpers';

/**
 * What the stack (TypeScript) and the functions and local server (Rust) must agree on, checked by
 * running both: the route table each reads from a contract, and the function timeout the Rust
 * code's DynamoDB budget is sized for.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** One row of the route table, as `cargo run -p api-contract --bin routes -- --json` prints it. */
interface Row {
  operationId: string;
  method: string;
  path: string;
  function: string;
  dynamodbActions: string[];
  parameters: { name: string; in: string; required: boolean }[];
}

type Reading = { routes: Row[] } | { error: string };

let dir = '';
let routes = '';

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ssb-contracts-'));
  // One build, then the binary itself per case (cargo run would re-check the build every time).
  const build = spawnSync('cargo', ['build', '--quiet', '--locked', '-p', 'api-contract', '--bin', 'routes', '--message-format=json'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.equal(build.status, 0, `cargo build of the routes binary failed:\n${build.stderr}`);
  for (const line of build.stdout.split('\n')) {
    const msg = line ? (JSON.parse(line) as { reason?: string; target?: { name?: string }; executable?: string | null }) : {};
    if (msg.reason === 'compiler-artifact' && msg.target?.name === 'routes' && msg.executable) routes = msg.executable;
  }
  assert.ok(routes, 'cargo named the routes executable');
});

/** The Rust reader's reading of a contract file. */
function rustReading(file: string): Reading {
  const run = spawnSync(routes, ['--json', file], { encoding: 'utf8' });
  if (run.status === 0) return { routes: JSON.parse(run.stdout) as Row[] };
  assert.equal(run.status, 1, `routes exited ${run.status}: ${run.stderr}`);
  return { error: run.stderr.trim() };
}

/** The stack's reading of the same document. */
function tsReading(doc: JsonObject): Reading {
  try {
    const contract = parseContract(doc);
    return {
      routes: contract.operations.map((op) => ({
        operationId: op.operationId,
        method: op.method,
        path: op.path,
        function: op.functionName,
        dynamodbActions: [...op.dynamodbActions],
        parameters: op.parameters.map((p) => ({ name: p.name, in: p.in, required: p.required })),
      })),
    };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function agree(name: string, doc: JsonObject): Reading {
  const file = path.join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.json`);
  writeFileSync(file, JSON.stringify(doc));
  const ts = tsReading(doc);
  assert.deepEqual(rustReading(file), ts, `${name}: the Rust and TypeScript readers disagree`);
  return ts;
}

const op = (fn: string, actions: Json = ['dynamodb:GetItem'], extra: JsonObject = {}): JsonObject => ({
  operationId: fn.replace(/-/g, ''),
  'x-function': fn,
  'x-dynamodb-actions': actions,
  ...extra,
});
const idParam: JsonObject = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const contract = (paths: Json, more: JsonObject = {}): JsonObject => ({ openapi: '3.0.3', info: { title: 't' }, paths, ...more });

describe('the Rust and TypeScript contract readers', () => {
  it('read api/openapi.json into the same route table', () => {
    const doc = JSON.parse(readFileSync(path.join(REPO_ROOT, 'api', 'openapi.json'), 'utf8')) as JsonObject;
    const reading = agree('openapi', doc);
    assert.ok('routes' in reading && reading.routes.length > 0, 'the contract has routes');
  });

  it('read the same methods, in the same order, on paths in the same order', () => {
    const reading = agree(
      'verbs',
      contract({
        '/v1/z': { head: op('head-z'), options: op('options-z'), put: op('put-z', ['dynamodb:PutItem']) },
        '/v1/a': { patch: op('patch-a', ['dynamodb:UpdateItem']), get: op('get-a'), delete: op('delete-a', ['dynamodb:DeleteItem']), post: op('post-a', ['dynamodb:PutItem']) },
      }),
    );
    assert.ok('routes' in reading);
    assert.deepEqual(
      reading.routes.map((r) => `${r.method} ${r.path}`),
      ['GET /v1/a', 'POST /v1/a', 'DELETE /v1/a', 'PATCH /v1/a', 'PUT /v1/z', 'OPTIONS /v1/z', 'HEAD /v1/z'],
    );
  });

  it('apply path-level parameters to every method, overridden by an operation’s own', () => {
    const reading = agree(
      'path-level parameters',
      contract({
        '/v1/x/{id}': {
          parameters: [idParam, { name: 'trace', in: 'header' }],
          get: op('get-x'),
          delete: op('delete-x', ['dynamodb:DeleteItem'], { parameters: [{ name: 'trace', in: 'header', required: true }] }),
        },
      }),
    );
    assert.ok('routes' in reading);
    assert.deepEqual(reading.routes[1].parameters, [
      { name: 'id', in: 'path', required: true },
      { name: 'trace', in: 'header', required: true },
    ]);
  });

  it('resolve $refs to path items, operations and parameters', () => {
    agree(
      'refs',
      contract(
        { '/v1/x/{id}': { $ref: '#/components/pathItems/X' } },
        { components: { pathItems: { X: { get: { $ref: '#/components/operations/GetX' } } }, operations: { GetX: op('get-x', ['dynamodb:GetItem'], { parameters: [{ $ref: '#/components/parameters/Id' }] }) }, parameters: { Id: idParam } } },
      ),
    );
  });

  // Each contract breaks one rule; both readers must refuse it with the same sentence.
  const broken: [string, JsonObject, RegExp][] = [
    ['no OpenAPI 3.0', { openapi: '2.0', paths: {} }, /^expected an OpenAPI 3.0 document, got openapi="2.0"$/],
    ['no paths', { openapi: '3.0.3' }, /^the contract has no paths$/],
    ['no operations', contract({ '/v1/x': { summary: 'nothing' } }), /^the contract declares no operations$/],
    ['a relative path', contract({ 'v1/x': { get: op('get-x') } }), /^path "v1\/x" must start with \/$/],
    ['no x-function', contract({ '/v1/x': { get: { operationId: 'x', 'x-dynamodb-actions': ['dynamodb:GetItem'] } } }), /^GET \/v1\/x: x-function must be a non-empty string, got undefined$/],
    ['a function that is no crate', contract({ '/v1/x': { get: op('Get X') } }), /^GET \/v1\/x: x-function "Get X" is not a crate name$/],
    ['one function, two routes', contract({ '/v1/x': { get: op('x'), post: op('x', ['dynamodb:PutItem']) } }), /^POST \/v1\/x: x-function x already serves GET \/v1\/x; one function per route$/],
    ['no x-dynamodb-actions', contract({ '/v1/x': { get: { operationId: 'getx', 'x-function': 'get-x' } } }), /^GET \/v1\/x: x-dynamodb-actions must be a non-empty list of "dynamodb:Action", got undefined$/],
    ['an empty action list', contract({ '/v1/x': { get: op('get-x', []) } }), /got \[\]$/],
    ['a wildcard action', contract({ '/v1/x': { get: op('get-x', ['dynamodb:*']) } }), /got \["dynamodb:\*"\]$/],
    ['another service', contract({ '/v1/x': { get: op('get-x', ['s3:GetObject']) } }), /got \["s3:GetObject"\]$/],
    ['no operationId', contract({ '/v1/x': { get: { 'x-function': 'get-x', 'x-dynamodb-actions': ['dynamodb:GetItem'] } } }), /^GET \/v1\/x: operationId must be a non-empty string, got undefined$/],
    ['a cookie parameter', contract({ '/v1/x': { get: op('get-x', ['dynamodb:GetItem'], { parameters: [{ name: 'c', in: 'cookie' }] }) } }), /^GET \/v1\/x: parameter c is in "cookie"; only path, query and header are supported$/],
    ['an optional path parameter', contract({ '/v1/x/{id}': { get: op('get-x', ['dynamodb:GetItem'], { parameters: [{ name: 'id', in: 'path' }] }) } }), /^GET \/v1\/x\/\{id\}: path parameter id must be required$/],
    ['an undeclared path parameter', contract({ '/v1/x/{id}': { get: op('get-x') } }), /^GET \/v1\/x\/\{id\}: path parameter \{id\} is not declared$/],
    ['a body that is not JSON', contract({ '/v1/x': { post: op('post-x', ['dynamodb:PutItem'], { requestBody: { content: { 'text/plain': { schema: {} } } } }) } }), /^POST \/v1\/x: requestBody must have application\/json content with a schema$/],
    ['a remote $ref', contract({ '/v1/x': { get: { $ref: 'other.json#/x' } } }), /^only local \$refs are supported, got "other.json#\/x"$/],
    ['a dangling $ref', contract({ '/v1/x': { get: { $ref: '#/components/none' } } }), /^\$ref "#\/components\/none" does not resolve$/],
    ['a circular $ref', contract({ '/v1/x': { $ref: '#/components/pathItems/A' } }, { components: { pathItems: { A: { $ref: '#/components/pathItems/A' } } } }), /^circular \$ref: #\/components\/pathItems\/A -> #\/components\/pathItems\/A$/],
  ];
  for (const [name, doc, sentence] of broken) {
    it(`refuse ${name} with the same sentence`, () => {
      const reading = agree(name, doc);
      assert.ok('error' in reading, `${name} was accepted`);
      assert.match(reading.error, sentence);
    });
  }
});

describe('the function timeout', () => {
  it('is the one the Rust code sizes its DynamoDB budget for (items_core::config::FUNCTION_TIMEOUT)', () => {
    const source = readFileSync(path.join(REPO_ROOT, 'functions', 'core', 'src', 'config.rs'), 'utf8');
    const m = /pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs\((\d+)\);/.exec(source);
    assert.ok(m, 'functions/core/src/config.rs declares FUNCTION_TIMEOUT in whole seconds');
    assert.equal(DEFAULT_TIMEOUT.toSeconds(), Number(m[1]));
  });
});

describe('the per-user limit', () => {
  it('has the bounds the functions accept (items_core::limit::MAX_REQUESTS, MAX_WINDOW_SECONDS)', () => {
    const source = readFileSync(path.join(REPO_ROOT, 'functions', 'core', 'src', 'limit.rs'), 'utf8');
    const bound = (name: string) => {
      const m = new RegExp(`pub const ${name}: u32 = ([\\d_]+);`).exec(source);
      assert.ok(m, `functions/core/src/limit.rs declares ${name}`);
      return Number(m[1].replace(/_/g, ''));
    };
    assert.equal(USER_LIMIT_MAX_REQUESTS, bound('MAX_REQUESTS'));
    assert.equal(USER_LIMIT_MAX_WINDOW_SECONDS, bound('MAX_WINDOW_SECONDS'));
  });
});
