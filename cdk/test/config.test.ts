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
    assert.deepEqual(Object.keys(dev.usagePlan).sort(), ['burstLimit', 'quotaLimit', 'quotaPeriod', 'rateLimit']);
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
