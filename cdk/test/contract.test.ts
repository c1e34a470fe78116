import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseContract, requestParameters, toDraft4 } from '../lib/contract';
import { CONTRACT } from './helpers';

/** Every key anywhere in a JSON value. */
function keysDeep(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(keysDeep);
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [k, ...keysDeep(x)]);
  return [];
}

describe('the contract (api/openapi.json) as the stack reads it', () => {
  it('gives one operation per function, each with its DynamoDB actions', () => {
    const names = CONTRACT.operations.map((op) => op.functionName);
    assert.equal(new Set(names).size, names.length, 'one function per route');
    for (const op of CONTRACT.operations) {
      assert.ok(op.dynamodbActions.length > 0, `${op.method} ${op.path} has DynamoDB actions`);
      assert.ok(op.path.startsWith('/v1/'), `${op.path} is under /v1`);
    }
  });

  it('grants each route exactly these DynamoDB actions, written out here so that widening x-dynamodb-actions fails a test', () => {
    // The one literal copy of the route table's IAM column. The stack grants each role what the
    // contract lists (stack.test.ts), and the Rust reader agrees (rust-agreement.test.ts).
    const granted = Object.fromEntries(CONTRACT.operations.map((op) => [`${op.method} ${op.path}`, [op.functionName, ...op.dynamodbActions]]));
    assert.deepEqual(granted, {
      'POST /v1/items': ['create-item', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      'GET /v1/items': ['list-items', 'dynamodb:Query'],
      'GET /v1/items/{id}': ['get-item', 'dynamodb:GetItem'],
      'PATCH /v1/items/{id}': ['update-item', 'dynamodb:UpdateItem'],
      'DELETE /v1/items/{id}': ['delete-item', 'dynamodb:DeleteItem'],
    });
  });

  it('inlines request body schemas into self-contained draft-4 models', () => {
    const bodies = CONTRACT.operations.filter((op) => op.body);
    assert.ok(bodies.length > 0, 'some operation takes a body');
    for (const op of bodies) {
      const keys = keysDeep(op.body!.schema);
      assert.ok(!keys.includes('$ref'), `${op.body!.modelName} has no $ref left`);
      assert.ok(!keys.includes('nullable'), `${op.body!.modelName} has no OpenAPI-only keyword`);
      assert.equal(op.body!.schema.$schema, 'http://json-schema.org/draft-04/schema#');
      assert.equal(op.body!.schema.additionalProperties, false, `${op.body!.modelName} refuses unknown fields`);
    }
  });

  it('maps parameters to API Gateway request parameters with their required flag', () => {
    for (const op of CONTRACT.operations) {
      const params = requestParameters(op);
      for (const m of op.path.matchAll(/\{([^}]+)\}/g)) assert.equal(params[`method.request.path.${m[1]}`], true, `${op.path} requires {${m[1]}}`);
      for (const [key, required] of Object.entries(params)) {
        assert.match(key, /^method\.request\.(path|querystring|header)\.[A-Za-z0-9_-]+$/);
        if (!key.startsWith('method.request.path.')) assert.equal(required, false, `${key} is optional in the contract`);
      }
    }
  });

  it('resolves nested $refs, keeps draft-4 keywords and drops the rest', () => {
    const doc = {
      components: {
        schemas: {
          Leaf: { type: 'string', nullable: true, example: 'x', description: 'kept', maxLength: 3 },
          Node: { type: 'object', properties: { leaf: { $ref: '#/components/schemas/Leaf' }, list: { type: 'array', items: { $ref: '#/components/schemas/Leaf' } } } },
        },
      },
    };
    assert.deepEqual(toDraft4(doc, { $ref: '#/components/schemas/Node' }), {
      type: 'object',
      properties: {
        leaf: { type: 'string', description: 'kept', maxLength: 3 },
        list: { type: 'array', items: { type: 'string', description: 'kept', maxLength: 3 } },
      },
    });
  });

  it('refuses a circular $ref instead of looping', () => {
    const doc = { components: { schemas: { A: { type: 'object', properties: { a: { $ref: '#/components/schemas/A' } } } } } };
    assert.throws(() => toDraft4(doc, { $ref: '#/components/schemas/A' }), /circular \$ref: #\/components\/schemas\/A -> #\/components\/schemas\/A/);
  });

  it('refuses an operation without x-function, naming it', () => {
    const doc = { openapi: '3.0.3', info: { title: 't' }, paths: { '/v1/x': { get: { operationId: 'x', 'x-dynamodb-actions': ['dynamodb:GetItem'] } } } };
    assert.throws(() => parseContract(doc), /GET \/v1\/x: x-function must be a non-empty string, got undefined/);
  });

  it('refuses wildcard DynamoDB actions', () => {
    const doc = { openapi: '3.0.3', info: { title: 't' }, paths: { '/v1/x': { get: { operationId: 'x', 'x-function': 'x', 'x-dynamodb-actions': ['dynamodb:*'] } } } };
    assert.throws(() => parseContract(doc), /x-dynamodb-actions must be a non-empty list of "dynamodb:Action", got \["dynamodb:\*"\]/);
  });
});
