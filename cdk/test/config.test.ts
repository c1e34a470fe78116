import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadStageConfig, parseStageConfig, requireAlarmSubscriber, STAGE_NAMES, withAlarmEmail } from '../lib/config';
import { CONTRACT, REPO_ROOT } from './helpers';

const FILE = path.join(REPO_ROOT, 'config', 'stages.json');
const RAW = JSON.parse(readFileSync(FILE, 'utf8'));

describe('config/stages.json', () => {
  it('has a valid entry for every stage', () => {
    for (const stage of STAGE_NAMES) assert.doesNotThrow(() => loadStageConfig(FILE, stage), stage);
  });

  it('keeps the keys the local dev server reads from "dev"', () => {
    const dev = RAW.stages.dev;
    assert.deepEqual(Object.keys(dev.throttle).sort(), ['burstLimit', 'rateLimit']);
    for (const plan of Object.values<Record<string, unknown>>(dev.clients)) assert.deepEqual(Object.keys(plan).sort(), ['burstLimit', 'quotaLimit', 'quotaPeriod', 'rateLimit']);
  });

  it('gives every stage the client apps web and mobile, web first (the operator CLI\'s default)', () => {
    for (const stage of STAGE_NAMES) assert.deepEqual(Object.keys(loadStageConfig(FILE, stage).clients), ['web', 'mobile'], stage);
  });

  it('throttles only methods the contract has', () => {
    const routes = new Set(CONTRACT.operations.map((op) => `${op.method} ${op.path}`));
    for (const stage of STAGE_NAMES) {
      for (const key of Object.keys(loadStageConfig(FILE, stage).methodThrottles)) assert.ok(routes.has(key), `${stage}: ${key} is a contract route`);
    }
  });

  it('protects data outside dev', () => {
    for (const stage of ['staging', 'prod']) {
      const c = loadStageConfig(FILE, stage);
      assert.equal(c.removalPolicy, 'RETAIN', stage);
      assert.equal(c.mfa, 'REQUIRED', stage);
      assert.equal(c.threatProtection, 'ENFORCED', stage);
      assert.equal(c.tableEncryption, 'CUSTOMER_MANAGED', stage);
    }
  });

  it('rejects an unknown stage with the choices', () => {
    assert.throws(() => loadStageConfig(FILE, 'qa'), /unknown stage "qa": use -c stage=dev\|staging\|prod/);
  });

  it('rejects a bad value, naming the key and the value', () => {
    const bad = (patch: Record<string, unknown>) => ({ ...RAW.stages.prod, ...patch });
    assert.throws(() => parseStageConfig('prod', bad({ logRetentionDays: 10 })), /stages\.prod\.logRetentionDays: must be one of 1, 3, 5, 7, 14, 30.* \(got 10\)/);
    assert.throws(() => parseStageConfig('prod', bad({ throttle: { rateLimit: 100, burstLimit: 10 } })), /stages\.prod\.throttle\.burstLimit: must be at least rateLimit \(100\) \(got 10\)/);
    assert.throws(() => parseStageConfig('prod', bad({ corsAllowOrigins: ['*'] })), /corsAllowOrigins: each origin must be scheme:\/\/host\[:port\], no wildcard or path \(got "\*"\)/);
    // The functions receive the list comma-separated (CORS_ALLOW_ORIGINS): a comma is no part of an origin.
    assert.throws(() => parseStageConfig('prod', bad({ corsAllowOrigins: ['https://a.com,b.com'] })), /corsAllowOrigins: each origin/);
    assert.throws(() => parseStageConfig('prod', bad({ dynamodbWarmUp: 'yes' })), /stages\.prod\.dynamodbWarmUp: must be true or false \(got "yes"\)/);
    assert.throws(() => parseStageConfig('prod', bad({ mfa: 'on' })), /stages\.prod\.mfa: must be one of OFF, OPTIONAL, REQUIRED \(got "on"\)/);
    assert.throws(() => parseStageConfig('prod', bad({ reservedConcurrency: 0 })), /reservedConcurrency: must be an integer from 1 to 1000 \(got 0\)/);
  });

  it('rejects bad client apps in one sentence naming the setting and the value', () => {
    const bad = (patch: Record<string, unknown>) => ({ ...RAW.stages.prod, ...patch });
    const plan = RAW.stages.prod.clients.web;
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['no clients', { clients: undefined }, /^Error: config\/stages\.json: stages\.prod\.clients: must be an object \(got undefined\)$/],
      ['a list', { clients: [plan] }, /stages\.prod\.clients: must be an object/],
      ['none', { clients: {} }, /^Error: config\/stages\.json: stages\.prod\.clients: must name at least one client app, e\.g\. .*\(got \{\}\)$/],
      ['upper case', { clients: { Web: plan } }, /stages\.prod\.clients: client names must be a lower-case letter then up to 30 lower-case letters, digits or hyphens \(got "Web"\)/],
      ['a digit first', { clients: { '1app': plan } }, /client names must be .* \(got "1app"\)/],
      ['an underscore', { clients: { my_app: plan } }, /client names must be .* \(got "my_app"\)/],
      ['32 characters', { clients: { ['a'.repeat(32)]: plan } }, /client names must be .* \(got "a{32}"\)/],
      ['a plan that is no object', { clients: { web: 5 } }, /stages\.prod\.clients\.web: must be an object \(got 5\)/],
      ['burst under rate', { clients: { web: { ...plan, burstLimit: 1 } } }, /stages\.prod\.clients\.web\.burstLimit: must be at least rateLimit \(100\) \(got 1\)/],
      ['no quota', { clients: { web: { ...plan, quotaLimit: 0 } } }, /stages\.prod\.clients\.web\.quotaLimit: must be an integer from 1 to \d+ \(got 0\)/],
      ['a yearly quota', { clients: { web: { ...plan, quotaPeriod: 'YEAR' } } }, /stages\.prod\.clients\.web\.quotaPeriod: must be one of DAY, WEEK, MONTH \(got "YEAR"\)/],
      ['the old setting', { usagePlan: plan }, /stages\.prod\.usagePlan: is replaced by "clients", one usage plan per client app/],
    ];
    for (const [name, patch, message] of cases) assert.throws(() => parseStageConfig('prod', bad(patch)), message, name);
    const ok = parseStageConfig('prod', bad({ clients: { 'a-1': plan, ['b'.repeat(31)]: plan } }));
    assert.deepEqual(Object.keys(ok.clients), ['a-1', 'b'.repeat(31)], 'hyphens, digits and 31 characters are fine');
  });

  it('takes a userLimit of positive whole numbers within bounds and under the WAF limit', () => {
    const bad = (userLimit: unknown) => ({ ...RAW.stages.prod, userLimit });
    for (const stage of STAGE_NAMES) {
      const c = loadStageConfig(FILE, stage);
      assert.deepEqual(Object.keys(RAW.stages[stage].userLimit).sort(), ['requests', 'windowSeconds'], stage);
      assert.ok((c.userLimit.requests * 300) / c.userLimit.windowSeconds <= c.wafRateLimitPer5Min, `${stage}: the WAF is the looser, coarse line`);
    }
    assert.deepEqual(parseStageConfig('prod', bad({ requests: 1, windowSeconds: 86400 })).userLimit, { requests: 1, windowSeconds: 86400 });
    assert.throws(() => parseStageConfig('prod', bad(undefined)), /stages\.prod\.userLimit: must be an object \(got undefined\)/);
    assert.throws(() => parseStageConfig('prod', bad({ requests: 0, windowSeconds: 60 })), /stages\.prod\.userLimit\.requests: must be an integer from 1 to 1000000 \(got 0\)/);
    assert.throws(() => parseStageConfig('prod', bad({ requests: 1.5, windowSeconds: 60 })), /userLimit\.requests: must be an integer from 1 to 1000000 \(got 1\.5\)/);
    assert.throws(() => parseStageConfig('prod', bad({ requests: 10, windowSeconds: 86401 })), /userLimit\.windowSeconds: must be an integer from 1 to 86400 \(got 86401\)/);
    assert.throws(() => parseStageConfig('prod', bad({ requests: 10, windowSeconds: '60' })), /userLimit\.windowSeconds: must be an integer from 1 to 86400 \(got "60"\)/);
    assert.throws(
      () => parseStageConfig('prod', bad({ requests: 1000, windowSeconds: 60 })),
      /stages\.prod\.userLimit: must allow at most wafRateLimitPer5Min \(3000\) requests per 5 minutes, as the WAF blocks a token above that first; this allows 5000 \(got \{"requests":1000,"windowSeconds":60\}\)/,
    );
  });
});

describe('who hears the alarms', () => {
  it('ships no address: every stage has alarmEmail null', () => {
    for (const stage of STAGE_NAMES) assert.equal(RAW.stages[stage].alarmEmail, null, stage);
  });

  it('takes -c alarmEmail over the file, and refuses a value that is not an address', () => {
    const prod = loadStageConfig(FILE, 'prod');
    assert.equal(withAlarmEmail(prod, 'oncall@example.org').alarmEmail, 'oncall@example.org');
    assert.equal(withAlarmEmail(prod, undefined), prod);
    assert.throws(() => withAlarmEmail(prod, 'oncall'), /-c alarmEmail: must be an e-mail address \(got "oncall"\)/);
  });

  it('lets dev go without a subscriber and no other stage', () => {
    assert.doesNotThrow(() => requireAlarmSubscriber('dev', loadStageConfig(FILE, 'dev')));
    for (const stage of ['staging', 'prod']) {
      assert.throws(() => requireAlarmSubscriber(stage, loadStageConfig(FILE, stage)), new RegExp(`^Error: Stage ${stage} has no one to notify of its alarms: set "alarmEmail" for ${stage} in config/stages.json, or pass -c alarmEmail=ADDRESS\\.$`));
      assert.doesNotThrow(() => requireAlarmSubscriber(stage, withAlarmEmail(loadStageConfig(FILE, stage), 'oncall@example.org')));
    }
  });
});
