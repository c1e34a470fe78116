import { readFileSync } from 'node:fs';

/**
 * Reads api/openapi.json (the API contract) into what the stack needs: one entry per operation with
 * its function, DynamoDB actions, request parameters and a self-contained draft-4 body schema.
 * Nothing here knows a route by name.
 *
 * The local server and the Rust tests read the same file with `api/src/lib.rs` by the same rules
 * and the same sentences for a contract that breaks them (paths in sorted order, the verbs of
 * HTTP_METHODS, path-level parameters overridden by the operation's own, x-dynamodb-actions
 * required); cdk/test/contract-agreement.test.ts checks that both readers agree.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

/** JSON Schema draft 4 keywords API Gateway models accept; anything else (OpenAPI's nullable, example, ...) is dropped. */
const DRAFT4_KEYWORDS = new Set([
  'title', 'description', 'default', 'type', 'enum', 'format',
  'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum',
  'maxLength', 'minLength', 'pattern',
  'items', 'additionalItems', 'maxItems', 'minItems', 'uniqueItems',
  'maxProperties', 'minProperties', 'required', 'properties', 'patternProperties', 'additionalProperties', 'dependencies',
  'allOf', 'anyOf', 'oneOf', 'not', 'definitions',
]);
/** Keywords whose value is a map of names to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions']);
/** Keywords whose value is a schema or a list of schemas. */
const SCHEMA_VALUES = new Set(['items', 'additionalItems', 'additionalProperties', 'not', 'allOf', 'anyOf', 'oneOf']);

export interface RequestParameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required: boolean;
}

export interface Operation {
  /** Upper-case HTTP verb. */
  readonly method: string;
  /** Path as written in the contract, e.g. /v1/items/{id}. */
  readonly path: string;
  readonly operationId: string;
  /** The Lambda function (and crate) serving the operation. */
  readonly functionName: string;
  /** The only DynamoDB actions the function's role gets on the table. */
  readonly dynamodbActions: readonly string[];
  readonly parameters: readonly RequestParameter[];
  /** The request body model, when the operation takes one. */
  readonly body?: { readonly modelName: string; readonly required: boolean; readonly schema: JsonObject };
}

export interface Contract {
  readonly title: string;
  readonly operations: readonly Operation[];
}

class ContractError extends Error {}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Follows a local JSON pointer ("#/components/schemas/X"). */
function resolvePointer(doc: JsonObject, ref: string): Json {
  if (!ref.startsWith('#/')) throw new ContractError(`only local $refs are supported, got ${JSON.stringify(ref)}`);
  let node: Json = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) || !(key in node)) throw new ContractError(`$ref ${JSON.stringify(ref)} does not resolve`);
    node = node[key];
  }
  return node;
}

/** Returns the object a $ref points at (or the object itself when it has no $ref). */
function deref(doc: JsonObject, node: Json, seen: readonly string[] = []): JsonObject {
  if (!isObject(node)) throw new ContractError(`expected an object, got ${JSON.stringify(node)}`);
  const ref = node.$ref;
  if (typeof ref !== 'string') return node;
  if (seen.includes(ref)) throw new ContractError(`circular $ref: ${[...seen, ref].join(' -> ')}`);
  return deref(doc, resolvePointer(doc, ref), [...seen, ref]);
}

/**
 * Inlines every $ref of a schema and keeps only draft-4 keywords, giving a schema an API Gateway
 * model can hold on its own. Throws on a circular $ref (a model cannot express recursion without refs).
 */
export function toDraft4(doc: JsonObject, schema: Json, seen: readonly string[] = []): JsonObject {
  if (!isObject(schema)) throw new ContractError(`a schema must be an object, got ${JSON.stringify(schema)}`);
  if (typeof schema.$ref === 'string') {
    const ref = schema.$ref;
    if (seen.includes(ref)) throw new ContractError(`circular $ref: ${[...seen, ref].join(' -> ')}`);
    return toDraft4(doc, resolvePointer(doc, ref), [...seen, ref]);
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!DRAFT4_KEYWORDS.has(key)) continue;
    if (SCHEMA_MAPS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, toDraft4(doc, sub, seen)]));
    } else if (SCHEMA_VALUES.has(key) && Array.isArray(value)) {
      out[key] = value.map((sub) => toDraft4(doc, sub, seen));
    } else if (SCHEMA_VALUES.has(key) && isObject(value)) {
      out[key] = toDraft4(doc, value, seen);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function str(where: string, v: Json | undefined): string {
  if (typeof v !== 'string' || v.length === 0) throw new ContractError(`${where} must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

/** Parses an OpenAPI 3.0 document already loaded as JSON. */
export function parseContract(doc: JsonObject): Contract {
  if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.0')) {
    throw new ContractError(`expected an OpenAPI 3.0 document, got openapi=${JSON.stringify(doc.openapi)}`);
  }
  const info = deref(doc, doc.info ?? {});
  if (!isObject(doc.paths)) throw new ContractError('the contract has no paths');
  const operations: Operation[] = [];
  const seenFunctions = new Map<string, string>();
  // Sorted, as the Rust reader (serde_json without preserve_order) sees an object's keys.
  for (const [path, rawItem] of Object.entries(doc.paths).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!path.startsWith('/')) throw new ContractError(`path ${JSON.stringify(path)} must start with /`);
    const item = deref(doc, rawItem);
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const verb of HTTP_METHODS) {
      if (!(verb in item)) continue;
      const op = deref(doc, item[verb]);
      const where = `${verb.toUpperCase()} ${path}`;
      const functionName = str(`${where}: x-function`, op['x-function']);
      if (!/^[a-z][a-z0-9-]{0,62}$/.test(functionName)) throw new ContractError(`${where}: x-function ${JSON.stringify(functionName)} is not a crate name`);
      const other = seenFunctions.get(functionName);
      if (other) throw new ContractError(`${where}: x-function ${functionName} already serves ${other}; one function per route`);
      seenFunctions.set(functionName, where);
      const actions = op['x-dynamodb-actions'];
      if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === 'string' && /^dynamodb:[A-Z][A-Za-z]+$/.test(a))) {
        throw new ContractError(`${where}: x-dynamodb-actions must be a non-empty list of "dynamodb:Action", got ${JSON.stringify(actions)}`);
      }
      // Operation parameters override path-level ones with the same name and location.
      const params = new Map<string, RequestParameter>();
      for (const raw of [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])]) {
        const p = deref(doc, raw);
        const name = str(`${where}: parameter name`, p.name);
        const location = p.in;
        if (location !== 'path' && location !== 'query' && location !== 'header') {
          throw new ContractError(`${where}: parameter ${name} is in ${JSON.stringify(location)}; only path, query and header are supported`);
        }
        if (location === 'path' && p.required !== true) throw new ContractError(`${where}: path parameter ${name} must be required`);
        params.set(`${location}:${name}`, { name, in: location, required: p.required === true });
      }
      for (const m of path.matchAll(/\{([^}]+)\}/g)) {
        if (!params.has(`path:${m[1]}`)) throw new ContractError(`${where}: path parameter {${m[1]}} is not declared`);
      }
      let body: Operation['body'];
      if (op.requestBody !== undefined) {
        const rb = deref(doc, op.requestBody);
        const content = deref(doc, rb.content ?? null);
        const media = content['application/json'];
        if (!isObject(media) || media.schema === undefined) throw new ContractError(`${where}: requestBody must have application/json content with a schema`);
        const raw = media.schema;
        const ref = isObject(raw) && typeof raw.$ref === 'string' ? raw.$ref : undefined;
        const modelName = ref ? ref.split('/').pop()!.replace(/[^A-Za-z0-9]/g, '') : `${str(`${where}: operationId`, op.operationId)}Body`;
        body = { modelName, required: rb.required === true, schema: { $schema: 'http://json-schema.org/draft-04/schema#', ...toDraft4(doc, raw) } };
      }
      operations.push({
        method: verb.toUpperCase(),
        path,
        operationId: str(`${where}: operationId`, op.operationId),
        functionName,
        dynamodbActions: actions as string[],
        parameters: [...params.values()],
        ...(body ? { body } : {}),
      });
    }
  }
  if (operations.length === 0) throw new ContractError('the contract declares no operations');
  return { title: typeof info.title === 'string' ? info.title : 'API', operations };
}

/** Reads and parses the contract file. */
export function loadContract(file: string): Contract {
  return parseContract(JSON.parse(readFileSync(file, 'utf8')) as JsonObject);
}

/** API Gateway requestParameters for an operation: `method.request.path.id: true`, ... */
export function requestParameters(op: Operation): Record<string, boolean> {
  const where = { path: 'path', query: 'querystring', header: 'header' } as const;
  return Object.fromEntries(op.parameters.map((p) => [`method.request.${where[p.in]}.${p.name}`, p.required]));
}
