import { readFileSync } from 'node:fs';

/** Requests per second and burst size, as API Gateway throttles take them. */
export interface ThrottleSettings {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** A usage plan's per-client throttle and quota. */
export interface UsagePlanSettings extends ThrottleSettings {
  readonly quotaLimit: number;
  readonly quotaPeriod: 'DAY' | 'WEEK' | 'MONTH';
}

/** A client app's name: lower case, a letter first, at most 31 characters (it is part of resource names). */
export const CLIENT_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;

/**
 * The limit per user (the ID token's `sub`) the functions enforce: at most `requests` per fixed
 * window of `windowSeconds` (functions/core/src/limit.rs; docs/STACK.md has the arithmetic).
 */
export interface UserLimitSettings {
  readonly requests: number;
  readonly windowSeconds: number;
}

/** The bounds of userLimit, the same as the functions' (functions/core/src/limit.rs). */
export const USER_LIMIT_MAX_REQUESTS = 1_000_000;
export const USER_LIMIT_MAX_WINDOW_SECONDS = 86_400;

/** Alarm thresholds; counts are per one-minute period. */
export interface AlarmThresholds {
  readonly api5xxPerMinute: number;
  readonly apiP99LatencyMs: number;
  readonly functionErrorsPerMinute: number;
  readonly functionThrottlesPerMinute: number;
  readonly dynamoThrottlesPerMinute: number;
  readonly dynamoSystemErrorsPerMinute: number;
}

/** A custom domain for the API in an existing public Route 53 hosted zone, given by id so synth needs no lookup. */
export interface DomainSettings {
  /** The API's host name, e.g. api.example.com (lower case, inside the zone). */
  readonly name: string;
  /** The hosted zone's id, e.g. Z0123456789ABCDEFGHIJ. */
  readonly hostedZoneId: string;
  /** The hosted zone's name, e.g. example.com. */
  readonly hostedZoneName: string;
}

/** A copy of every backup in a vault of another region. */
export interface BackupCopySettings {
  readonly region: string;
  /** Days the copy is kept (Backup deletes it after). */
  readonly retentionDays: number;
}

/** AWS Backup of the table (on top of point-in-time recovery, which stays on in every stage). */
export interface BackupSettings {
  /** The daily backup starts in the hour after this one (UTC, 0–23). */
  readonly dailyHourUtc: number;
  /** Days each backup is kept. */
  readonly retentionDays: number;
  /**
   * Vault lock in governance mode: nobody without the backup:DeleteBackupVaultLockConfiguration
   * and backup:DeleteRecoveryPoint rights (which no role of this app has) deletes a recovery point
   * before retentionDays.
   */
  readonly lock: boolean;
  /** null: no copy to another region. */
  readonly copy: BackupCopySettings | null;
}

/** One stage's entry of config/stages.json. */
export interface StageConfig {
  readonly logRetentionDays: number;
  /** DESTROY only makes sense for throw-away stages; anything else keeps data and turns on deletion protection. */
  readonly removalPolicy: 'DESTROY' | 'RETAIN';
  /** Stage-wide default throttle. */
  readonly throttle: ThrottleSettings;
  /** Per-method throttles keyed by "VERB /path" exactly as in api/openapi.json. */
  readonly methodThrottles: Readonly<Record<string, ThrottleSettings>>;
  /**
   * The client apps, each with its own API key and usage plan (throttle and quota per key), in
   * the file's order: the first is the operator CLI's default (`make token` without CLIENT).
   */
  readonly clients: Readonly<Record<string, UsagePlanSettings>>;
  /** WAF rate-based rule limit per Authorization header value (per token) per 5-minute window. */
  readonly wafRateLimitPer5Min: number;
  /** The limit per user (per `sub`, whatever the token), enforced by the functions. */
  readonly userLimit: UserLimitSettings;
  /**
   * Reserved concurrency of each function (the stage reserves this times the number of
   * functions); null leaves the functions unreserved. docs/STACK.md has the arithmetic.
   */
  readonly reservedConcurrency: number | null;
  readonly memoryMb: number;
  /**
   * Each function makes one harmless DynamoDB call during init (DYNAMODB_WARM_UP), so that its
   * first request finds the connection open; docs/BENCHMARKS.md has the cost both ways.
   */
  readonly dynamodbWarmUp: boolean;
  readonly alarms: AlarmThresholds;
  readonly corsAllowOrigins: readonly string[];
  readonly mfa: 'OFF' | 'OPTIONAL' | 'REQUIRED';
  /** Cognito threat protection; OFF puts the user pool on the Essentials plan, anything else on Plus. */
  readonly threatProtection: 'OFF' | 'AUDIT' | 'ENFORCED';
  readonly tableEncryption: 'AWS_OWNED' | 'CUSTOMER_MANAGED';
  /** Monthly budget of this stage's own costs (resources tagged with its stack name). */
  readonly budgetUsd: number;
  /**
   * Subscribed to the alarm topic and the budget. Required outside dev; `-c alarmEmail=ADDR`
   * overrides it (withAlarmEmail).
   */
  readonly alarmEmail: string | null;
  /** null: the API is reached at its execute-api URL. */
  readonly domain: DomainSettings | null;
  /** null: point-in-time recovery only. */
  readonly backup: BackupSettings | null;
  /**
   * null: one region (the one the CLI deploys to). A list: one stack per region, the first the
   * primary (docs/AVAILABILITY.md); it needs a domain and CUSTOMER_MANAGED table encryption.
   */
  readonly regions: readonly string[] | null;
}

/** Stages that may go without an alarm subscriber. */
export const STAGES_WITHOUT_SUBSCRIBER: readonly string[] = ['dev'];

export const STAGE_NAMES = ['dev', 'staging', 'prod', 'prod-global'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Log retention values CloudWatch Logs accepts. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export class ConfigError extends Error {}

/** Throws one sentence: where the bad value is, what it must be, and what it is. */
export function fail(where: string, message: string, value: unknown): never {
  throw new ConfigError(`${where}: ${message} (got ${JSON.stringify(value)})`);
}

export function positiveInt(where: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    fail(where, `must be an integer from 1 to ${max}`, value);
  }
  return value;
}

export function oneOf<T extends string>(where: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(where, `must be one of ${allowed.join(', ')}`, value);
  }
  return value as T;
}

export function object(where: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, 'must be an object', value);
  return value as Record<string, unknown>;
}

function throttle(where: string, value: unknown): ThrottleSettings {
  const t = object(where, value);
  const rateLimit = positiveInt(`${where}.rateLimit`, t.rateLimit, 10000);
  const burstLimit = positiveInt(`${where}.burstLimit`, t.burstLimit, 5000);
  if (burstLimit < rateLimit) fail(`${where}.burstLimit`, `must be at least rateLimit (${rateLimit})`, burstLimit);
  return { rateLimit, burstLimit };
}

/** Checks one stage entry and returns it typed; throws naming the bad key and value. */
export function parseStageConfig(stage: string, raw: unknown): StageConfig {
  const w = `config/stages.json: stages.${stage}`;
  const c = object(w, raw);
  const logRetentionDays = c.logRetentionDays;
  if (typeof logRetentionDays !== 'number' || !RETENTION_DAYS.includes(logRetentionDays)) {
    fail(`${w}.logRetentionDays`, `must be one of ${RETENTION_DAYS.join(', ')}`, logRetentionDays);
  }
  const stageThrottle = throttle(`${w}.throttle`, c.throttle);
  const methodThrottles: Record<string, ThrottleSettings> = {};
  for (const [key, value] of Object.entries(object(`${w}.methodThrottles`, c.methodThrottles ?? {}))) {
    if (!/^(GET|POST|PUT|PATCH|DELETE) \/\S*$/.test(key)) fail(`${w}.methodThrottles`, 'keys must read "VERB /path"', key);
    methodThrottles[key] = throttle(`${w}.methodThrottles["${key}"]`, value);
  }
  if ('usagePlan' in c) fail(`${w}.usagePlan`, 'is replaced by "clients", one usage plan per client app (docs/STACK.md, "Client apps")', c.usagePlan);
  const clients = parseClients(`${w}.clients`, c.clients);
  const wafRateLimitPer5Min = positiveInt(`${w}.wafRateLimitPer5Min`, c.wafRateLimitPer5Min, 2_000_000_000);
  const userLimit = parseUserLimit(`${w}.userLimit`, c.userLimit, wafRateLimitPer5Min);
  const a = object(`${w}.alarms`, c.alarms);
  const alarms: AlarmThresholds = {
    api5xxPerMinute: positiveInt(`${w}.alarms.api5xxPerMinute`, a.api5xxPerMinute),
    apiP99LatencyMs: positiveInt(`${w}.alarms.apiP99LatencyMs`, a.apiP99LatencyMs, 29000),
    functionErrorsPerMinute: positiveInt(`${w}.alarms.functionErrorsPerMinute`, a.functionErrorsPerMinute),
    functionThrottlesPerMinute: positiveInt(`${w}.alarms.functionThrottlesPerMinute`, a.functionThrottlesPerMinute),
    dynamoThrottlesPerMinute: positiveInt(`${w}.alarms.dynamoThrottlesPerMinute`, a.dynamoThrottlesPerMinute),
    dynamoSystemErrorsPerMinute: positiveInt(`${w}.alarms.dynamoSystemErrorsPerMinute`, a.dynamoSystemErrorsPerMinute),
  };
  const origins = c.corsAllowOrigins;
  if (!Array.isArray(origins) || origins.length === 0) fail(`${w}.corsAllowOrigins`, 'must be a non-empty list', origins);
  for (const o of origins) {
    if (typeof o !== 'string' || !/^https?:\/\/[^/*\s,]+$/.test(o)) {
      fail(`${w}.corsAllowOrigins`, 'each origin must be scheme://host[:port], no wildcard or path', o);
    }
  }
  const reserved = c.reservedConcurrency;
  if (reserved !== null) positiveInt(`${w}.reservedConcurrency`, reserved, 1000);
  const alarmEmail = c.alarmEmail ?? null;
  if (alarmEmail !== null && !isEmail(alarmEmail)) fail(`${w}.alarmEmail`, 'must be an e-mail address or null', alarmEmail);
  const memoryMb = positiveInt(`${w}.memoryMb`, c.memoryMb, 10240);
  if (memoryMb < 128) fail(`${w}.memoryMb`, 'must be at least 128', memoryMb);
  if (typeof c.dynamodbWarmUp !== 'boolean') fail(`${w}.dynamodbWarmUp`, 'must be true or false', c.dynamodbWarmUp);
  const tableEncryption = oneOf(`${w}.tableEncryption`, c.tableEncryption, ['AWS_OWNED', 'CUSTOMER_MANAGED'] as const);
  const domain = c.domain === undefined || c.domain === null ? null : parseDomain(`${w}.domain`, c.domain);
  const backup = c.backup === undefined || c.backup === null ? null : parseBackup(`${w}.backup`, c.backup);
  const regions = c.regions === undefined || c.regions === null ? null : parseRegions(`${w}.regions`, c.regions);
  if (regions !== null) {
    if (domain === null) fail(`${w}.domain`, 'must be set when "regions" lists several regions (clients follow the healthy region through it)', c.domain);
    if (tableEncryption !== 'CUSTOMER_MANAGED') fail(`${w}.tableEncryption`, 'must be CUSTOMER_MANAGED when "regions" is set (each replica has its region\'s key)', tableEncryption);
  }
  return {
    logRetentionDays,
    removalPolicy: oneOf(`${w}.removalPolicy`, c.removalPolicy, ['DESTROY', 'RETAIN'] as const),
    throttle: stageThrottle,
    methodThrottles,
    clients,
    wafRateLimitPer5Min,
    userLimit,
    reservedConcurrency: reserved as number | null,
    memoryMb,
    dynamodbWarmUp: c.dynamodbWarmUp as boolean,
    alarms,
    corsAllowOrigins: origins as string[],
    mfa: oneOf(`${w}.mfa`, c.mfa, ['OFF', 'OPTIONAL', 'REQUIRED'] as const),
    threatProtection: oneOf(`${w}.threatProtection`, c.threatProtection, ['OFF', 'AUDIT', 'ENFORCED'] as const),
    tableEncryption,
    budgetUsd: positiveInt(`${w}.budgetUsd`, c.budgetUsd),
    alarmEmail: alarmEmail as string | null,
    domain,
    backup,
    regions,
  };
}

function usagePlan(where: string, raw: unknown): UsagePlanSettings {
  const up = object(where, raw);
  return {
    ...throttle(where, up),
    quotaLimit: positiveInt(`${where}.quotaLimit`, up.quotaLimit),
    quotaPeriod: oneOf(`${where}.quotaPeriod`, up.quotaPeriod, ['DAY', 'WEEK', 'MONTH'] as const),
  };
}

function parseClients(where: string, raw: unknown): Readonly<Record<string, UsagePlanSettings>> {
  const entries = Object.entries(object(where, raw));
  if (entries.length === 0) fail(where, 'must name at least one client app, e.g. {"web": {rateLimit, burstLimit, quotaLimit, quotaPeriod}}', raw);
  const clients: Record<string, UsagePlanSettings> = {};
  for (const [name, plan] of entries) {
    if (!CLIENT_NAME_PATTERN.test(name)) fail(where, 'client names must be a lower-case letter then up to 30 lower-case letters, digits or hyphens', name);
    clients[name] = usagePlan(`${where}.${name}`, plan);
  }
  return clients;
}

/**
 * A stage's userLimit. It may allow at most the WAF's per-token limit over 5 minutes: a per-user
 * limit looser than that would never be reached, as the WAF would block the token first.
 */
function parseUserLimit(where: string, raw: unknown, wafRateLimitPer5Min: number): UserLimitSettings {
  const u = object(where, raw);
  const requests = positiveInt(`${where}.requests`, u.requests, USER_LIMIT_MAX_REQUESTS);
  const windowSeconds = positiveInt(`${where}.windowSeconds`, u.windowSeconds, USER_LIMIT_MAX_WINDOW_SECONDS);
  const per5Min = (requests * 300) / windowSeconds;
  if (per5Min > wafRateLimitPer5Min) {
    fail(where, `must allow at most wafRateLimitPer5Min (${wafRateLimitPer5Min}) requests per 5 minutes, as the WAF blocks a token above that first; this allows ${Math.round(per5Min)}`, raw);
  }
  return { requests, windowSeconds };
}

/** An AWS region name such as us-east-1 or ap-southeast-2. */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/;
const HOST_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_NAME = new RegExp(`^(?:${HOST_LABEL}\\.)+${HOST_LABEL}$`);

function parseDomain(where: string, raw: unknown): DomainSettings {
  const d = object(where, raw);
  const name = d.name;
  const zoneName = d.hostedZoneName;
  if (typeof name !== 'string' || !HOST_NAME.test(name)) fail(`${where}.name`, 'must be a lower-case host name such as api.example.com', name);
  if (typeof zoneName !== 'string' || !HOST_NAME.test(zoneName)) fail(`${where}.hostedZoneName`, 'must be a lower-case zone name such as example.com', zoneName);
  if (!name.endsWith(`.${zoneName}`)) fail(`${where}.name`, `must be inside the hosted zone ${zoneName}`, name);
  if (typeof d.hostedZoneId !== 'string' || !/^Z[A-Z0-9]{1,31}$/.test(d.hostedZoneId)) fail(`${where}.hostedZoneId`, 'must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ', d.hostedZoneId);
  return { name, hostedZoneId: d.hostedZoneId, hostedZoneName: zoneName };
}

function parseBackup(where: string, raw: unknown): BackupSettings {
  const b = object(where, raw);
  const hour = b.dailyHourUtc;
  if (typeof hour !== 'number' || !Number.isInteger(hour) || hour < 0 || hour > 23) fail(`${where}.dailyHourUtc`, 'must be an integer from 0 to 23', hour);
  const retentionDays = positiveInt(`${where}.retentionDays`, b.retentionDays, 36500);
  if (typeof b.lock !== 'boolean') fail(`${where}.lock`, 'must be true or false', b.lock);
  let copy: BackupCopySettings | null = null;
  if (b.copy !== undefined && b.copy !== null) {
    const c = object(`${where}.copy`, b.copy);
    if (typeof c.region !== 'string' || !REGION_PATTERN.test(c.region)) fail(`${where}.copy.region`, 'must be a region such as us-west-2', c.region);
    copy = { region: c.region, retentionDays: positiveInt(`${where}.copy.retentionDays`, c.retentionDays, 36500) };
  }
  return { dailyHourUtc: hour, retentionDays, lock: b.lock, copy };
}

function parseRegions(where: string, raw: unknown): readonly string[] {
  if (!Array.isArray(raw) || raw.length < 2) fail(where, 'must be null or a list of at least two regions, the primary first', raw);
  for (const r of raw) if (typeof r !== 'string' || !REGION_PATTERN.test(r)) fail(where, 'each entry must be a region such as us-east-1', r);
  if (new Set(raw).size !== raw.length) fail(where, 'must not list a region twice', raw);
  return raw as string[];
}

export function isEmail(value: unknown): value is string {
  return typeof value === 'string' && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value);
}

/** The stage's settings with `-c alarmEmail=ADDR` (when given) in place of the file's alarmEmail. */
export function withAlarmEmail(config: StageConfig, override: unknown): StageConfig {
  if (override === undefined || override === null || override === '') return config;
  if (!isEmail(override)) throw new ConfigError(`-c alarmEmail: must be an e-mail address (got ${JSON.stringify(override)})`);
  return { ...config, alarmEmail: override };
}

/** Alarms must reach a person outside dev: throws one sentence naming both ways to say who. */
export function requireAlarmSubscriber(stage: string, config: StageConfig): void {
  if (config.alarmEmail || STAGES_WITHOUT_SUBSCRIBER.includes(stage)) return;
  throw new ConfigError(
    `Stage ${stage} has no one to notify of its alarms: set "alarmEmail" for ${stage} in config/stages.json, or pass -c alarmEmail=ADDRESS.`,
  );
}

/** Reads config/stages.json and returns the named stage's settings. */
export function loadStageConfig(file: string, stage: string): StageConfig {
  if (!(STAGE_NAMES as readonly string[]).includes(stage)) {
    throw new ConfigError(`unknown stage ${JSON.stringify(stage)}: use -c stage=${STAGE_NAMES.join('|')}`);
  }
  const doc = object(file, JSON.parse(readFileSync(file, 'utf8')));
  const stages = object(`${file}: stages`, doc.stages);
  if (!(stage in stages)) throw new ConfigError(`${file} has no "${stage}" entry under "stages"`);
  return parseStageConfig(stage, stages[stage]);
}
