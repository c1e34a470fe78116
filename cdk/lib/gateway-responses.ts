import { readFileSync } from 'node:fs';

/** api/gateway-responses.json: the problem+json answers API Gateway gives before a function runs. */
export interface GatewayResponseSpec {
  readonly responseType: string;
  /** null keeps API Gateway's own status for the type family (DEFAULT_4XX, DEFAULT_5XX). */
  readonly statusCode: number | null;
  readonly problem: string;
  readonly title: string;
  /** A JSON value with API Gateway's $context substitutions (already quoted where needed), or null for none. */
  readonly detail: string | null;
  /** Seconds for a static `Retry-After` header (a gateway response header cannot be computed per request). */
  readonly retryAfter?: number;
}

/** CORS as the stage answers browsers (the functions expose the same headers). */
export interface CorsSpec {
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds: number;
}

export interface GatewayResponsesSpec {
  readonly contentType: string;
  readonly typePrefix: string;
  readonly cors: CorsSpec;
  readonly responses: readonly GatewayResponseSpec[];
}

export function loadGatewayResponses(file: string): GatewayResponsesSpec {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const bad = (what: string, v: unknown): never => {
    throw new Error(`${file}: ${what} (got ${JSON.stringify(v)})`);
  };
  if (typeof raw.contentType !== 'string') bad('contentType must be a string', raw.contentType);
  if (typeof raw.typePrefix !== 'string') bad('typePrefix must be a string', raw.typePrefix);
  if (!Array.isArray(raw.responses)) bad('responses must be a list', raw.responses);
  const cors = raw.cors as CorsSpec | undefined;
  const headerList = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((h) => typeof h === 'string' && /^[A-Za-z0-9-]+$/.test(h));
  if (!cors || !headerList(cors.allowHeaders) || !headerList(cors.exposeHeaders) || !(Number.isInteger(cors.maxAgeSeconds) && cors.maxAgeSeconds > 0)) {
    bad('cors must be {allowHeaders, exposeHeaders: non-empty lists of header names, maxAgeSeconds: a positive whole number}', raw.cors);
  }
  const seen = new Set<string>();
  for (const r of raw.responses as GatewayResponseSpec[]) {
    if (!/^[A-Z_0-9]+$/.test(r.responseType)) bad('responseType must be an API Gateway response type', r.responseType);
    if (seen.has(r.responseType)) bad('responseType listed twice', r.responseType);
    seen.add(r.responseType);
    if (r.statusCode !== null && !(Number.isInteger(r.statusCode) && r.statusCode >= 400 && r.statusCode <= 599)) bad(`${r.responseType}: statusCode must be 400-599 or null`, r.statusCode);
    if (!/^[a-z][a-z0-9-]*$/.test(r.problem)) bad(`${r.responseType}: problem must be a lowercase slug`, r.problem);
    if (typeof r.title !== 'string' || r.title === '') bad(`${r.responseType}: title must be a non-empty string`, r.title);
    if (r.detail !== null && typeof r.detail !== 'string') bad(`${r.responseType}: detail must be a template string or null`, r.detail);
    if (r.retryAfter !== undefined && !(Number.isInteger(r.retryAfter) && r.retryAfter > 0)) bad(`${r.responseType}: retryAfter must be a positive whole number of seconds`, r.retryAfter);
  }
  return raw as unknown as GatewayResponsesSpec;
}

/**
 * The response's headers: static values (single-quoted) or a request header API Gateway copies.
 * CORS: a gateway response cannot choose among origins (its headers are static or copied from
 * the request, its template is no VTL), so with one allowed origin it names that origin and with
 * several it echoes the request's `Origin`, whatever it is. Its body holds no data (the problem
 * type, title, API Gateway's message and the request id), so a page on another origin learns
 * nothing from reading it that the status alone would not tell (docs/STACK.md, "CORS").
 */
export function responseHeaders(spec: GatewayResponsesSpec, r: GatewayResponseSpec, corsAllowOrigins: readonly string[]): Record<string, string> {
  if (corsAllowOrigins.length === 0) throw new Error('gateway responses need at least one allowed CORS origin');
  return {
    'Content-Type': `'${spec.contentType}'`,
    ...(r.retryAfter !== undefined ? { 'Retry-After': `'${r.retryAfter}'` } : {}),
    'Access-Control-Allow-Origin': corsAllowOrigins.length === 1 ? `'${corsAllowOrigins[0]}'` : 'method.request.header.Origin',
    'Access-Control-Expose-Headers': `'${spec.cors.exposeHeaders.join(',')}'`,
    Vary: "'Origin'",
  };
}

/**
 * The response body template. Gateway response templates are not VTL: only $context variables are
 * substituted, so the body is assembled here as literal JSON around them. With a null status code
 * the status is left out (API Gateway answers with the specific type's own code).
 */
export function problemTemplate(spec: GatewayResponsesSpec, r: GatewayResponseSpec): string {
  const parts = [
    `"type":${JSON.stringify(spec.typePrefix + r.problem)}`,
    `"title":${JSON.stringify(r.title)}`,
    ...(r.statusCode !== null ? [`"status":${r.statusCode}`] : []),
    ...(r.detail !== null ? [`"detail":${r.detail}`] : []),
    '"requestId":"$context.requestId"',
  ];
  return `{${parts.join(',')}}`;
}
