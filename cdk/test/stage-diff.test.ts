import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { diffStack, parseLabels, renderReport, STATEFUL_CHANGE_LABEL, STATEFUL_TYPES, StackDiff, TemplateJson, verdict } from '../lib/stage-diff';
import { buildStage, REPO_ROOT } from './helpers';

const STACK = 'SecureServerlessBackend-staging';
/** The staging template as `cdk synth` writes it, construct paths included (the "deployed" side of every case). */
const STAGING = buildStage('staging', 'arm64', { 'aws:cdk:enable-path-metadata': true }).template.toJSON();
const deployed = (): TemplateJson => structuredClone(STAGING) as TemplateJson;
type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }>;
const resources = (t: TemplateJson) => t.Resources as Resources;
const idOf = (t: TemplateJson, type: string, prefix = '') => Object.keys(resources(t)).find((id) => resources(t)[id].Type === type && id.startsWith(prefix)) as string;

/** The synthesized staging template, changed by `edit`, diffed against the unchanged one. */
function diffAfter(edit: (t: TemplateJson) => void): StackDiff {
  const next = deployed();
  edit(next);
  return diffStack({ name: STACK, region: 'eu-west-1', template: next, deployed: deployed() });
}

describe('the stage diff and its stateful-change check (make diff)', () => {
  it('finds nothing to say when the template is unchanged', () => {
    const d = diffAfter(() => {});
    assert.equal(d.diff.isEmpty, true);
    assert.deepEqual(d.statefulChanges, []);
    assert.equal(verdict('staging', [d], []).ok, true);
  });

  it('flags the table when a key schema change would replace it, naming the property', () => {
    const d = diffAfter((t) => {
      const table = resources(t)[idOf(t, 'AWS::DynamoDB::Table')];
      table.Properties.KeySchema = [{ AttributeName: 'OWNER', KeyType: 'HASH' }, { AttributeName: 'SK', KeyType: 'RANGE' }];
    });
    assert.equal(d.statefulChanges.length, 1);
    const [c] = d.statefulChanges;
    assert.equal(c.type, 'AWS::DynamoDB::Table');
    assert.equal(c.impact, 'replaced');
    assert.equal(c.path, `${STACK}/Items/Table/Resource`);
    assert.ok(c.because.includes('KeySchema changes'), c.because.join('; '));
    assert.match(d.text, /KeySchema/);
  });

  it('flags a renamed construct: the old logical id leaves the stack (retained outside dev, so orphaned)', () => {
    const d = diffAfter((t) => {
      const id = idOf(t, 'AWS::Cognito::UserPool');
      resources(t)[`${id}Renamed`] = resources(t)[id];
      delete resources(t)[id];
    });
    const pool = d.statefulChanges.find((c) => c.type === 'AWS::Cognito::UserPool');
    assert.ok(pool, 'the pool is flagged');
    assert.match(pool.impact, /removed from the stack/);
    assert.match(pool.because.join(' '), /no longer in the template/);
  });

  it('flags a client app\'s API key that would be deleted or replaced: the app ships its value', () => {
    const removed = diffAfter((t) => {
      delete resources(t)[idOf(t, 'AWS::ApiGateway::ApiKey')];
    });
    const key = removed.statefulChanges.find((c) => c.type === 'AWS::ApiGateway::ApiKey');
    assert.ok(key, 'the removed key is flagged');
    assert.equal(key.impact, 'deleted');
    const renamed = diffAfter((t) => {
      const id = idOf(t, 'AWS::ApiGateway::ApiKey');
      resources(t)[id].Properties!.Name = 'another-name';
    });
    assert.equal(renamed.statefulChanges.filter((c) => c.type === 'AWS::ApiGateway::ApiKey').length, 1, 'a new name replaces the key, and so its value');
  });

  it('flags a deleted resource without a retain policy as deleted', () => {
    const d = diffAfter((t) => {
      const id = idOf(t, 'AWS::SecretsManager::Secret');
      const before = deployed();
      assert.equal(resources(before)[id].DeletionPolicy, 'Retain', 'staging keeps its secret');
      delete resources(t)[id];
    });
    // Deleted from the new template; the deployed one says Retain, so CloudFormation orphans it.
    assert.equal(d.statefulChanges.filter((c) => c.type === 'AWS::SecretsManager::Secret').length, 1);
    const destroyed = diffStack({
      name: STACK,
      region: 'eu-west-1',
      template: { Resources: {} },
      deployed: { Resources: { Key: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: {} } } } },
    });
    assert.deepEqual(destroyed.statefulChanges.map((c) => [c.logicalId, c.impact]), [['Key', 'deleted']]);
  });

  it('lets stateless changes through: function memory, a new alarm', () => {
    const d = diffAfter((t) => {
      const fn = resources(t)[idOf(t, 'AWS::Lambda::Function', 'CreateItem')];
      fn.Properties.MemorySize = 1024;
    });
    assert.equal(d.diff.isEmpty, false);
    assert.deepEqual(d.statefulChanges, []);
    assert.match(d.text, /MemorySize/);
    assert.equal(verdict('staging', [d], []).ok, true);
  });

  it('diffs a stage that is not deployed yet against nothing: all new, nothing stateful lost', () => {
    const d = diffStack({ name: STACK, region: 'eu-west-1', template: deployed(), deployed: null });
    assert.equal(d.deployed, false);
    assert.deepEqual(d.statefulChanges, []);
    assert.match(renderReport({ stage: 'staging', account: '111111111111', diffs: [d], verdict: verdict('staging', [d], []) }), /not deployed yet, every resource is new/);
  });

  it('fails without the label, passes with it, and says which', () => {
    const d = diffAfter((t) => {
      delete resources(t)[idOf(t, 'AWS::DynamoDB::Table')];
    });
    const refused = verdict('prod', [d], ['dependencies']);
    assert.equal(refused.ok, false);
    assert.match(refused.sentence, new RegExp(`^1 stateful resource of prod would be replaced or deleted .*add the label ${STATEFUL_CHANGE_LABEL}`));
    const allowed = verdict('prod', [d], ['dependencies', STATEFUL_CHANGE_LABEL]);
    assert.equal(allowed.ok, true);
    assert.match(allowed.sentence, /carries the label stateful-change-approved, so this is allowed/);
    const report = renderReport({ stage: 'prod', account: '222222222222', diffs: [d], verdict: refused });
    assert.match(report, /^### ❌ `cdk diff` of prod against account 222222222222/);
    assert.match(report, /\| SecureServerlessBackend-staging \| `SecureServerlessBackend-staging\/Items\/Table\/Resource` \| AWS::DynamoDB::Table \| removed from the stack/);
    assert.match(renderReport({ stage: 'prod', account: '2', diffs: [d], verdict: allowed }), /^### ⚠️/);
  });

  it('keeps a report within what a GitHub comment holds', () => {
    const d = diffAfter((t) => {
      for (const r of Object.values(resources(t))) if (r.Type === 'AWS::Logs::LogGroup') r.Properties.RetentionInDays = 1;
    });
    const long: StackDiff = { ...d, text: 'x'.repeat(200_000) };
    const report = renderReport({ stage: 'staging', account: '1', diffs: [long], verdict: verdict('staging', [long], []) });
    assert.ok(report.length < 65_536, `${report.length} characters`);
    assert.match(report, /cut at 50000 characters: the job's log has the whole diff/);
  });

  it('counts every data-holding resource type of the stage stacks as stateful', () => {
    const types = new Set(Object.values(resources(deployed())).map((r) => r.Type));
    for (const t of ['AWS::DynamoDB::Table', 'AWS::Cognito::UserPool', 'AWS::KMS::Key', 'AWS::SecretsManager::Secret', 'AWS::Logs::LogGroup', 'AWS::ApiGateway::ApiKey']) {
      assert.ok(types.has(t), `staging declares ${t}`);
      assert.ok(t in STATEFUL_TYPES, `${t} is stateful`);
    }
  });

  it('reads the labels CI passes, and refuses anything but a JSON array of names', () => {
    assert.deepEqual(parseLabels(undefined), []);
    assert.deepEqual(parseLabels(''), []);
    assert.deepEqual(parseLabels('["a","stateful-change-approved"]'), ['a', 'stateful-change-approved']);
    assert.throws(() => parseLabels('stateful-change-approved'), /PR_LABELS must be a JSON array of label names/);
    assert.throws(() => parseLabels('[1]'), /PR_LABELS must be a JSON array of label names/);
  });

  it('runs as make diff runs it: exit 1 and a report without the label, 0 with it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ssb-diff-'));
    const next = deployed();
    delete resources(next)[idOf(next, 'AWS::DynamoDB::Table')];
    writeFileSync(path.join(dir, 'new.json'), JSON.stringify(next));
    writeFileSync(path.join(dir, 'old.json'), JSON.stringify(deployed()));
    const input = { stage: 'staging', account: '111111111111', stacks: [{ name: STACK, region: 'eu-west-1', template: path.join(dir, 'new.json'), deployed: path.join(dir, 'old.json') }] };
    writeFileSync(path.join(dir, 'input.json'), JSON.stringify(input));
    const run = (labels: string) => {
      const summary = path.join(dir, `summary-${labels.length}.md`);
      const r = spawnSync('node', ['--import', 'tsx', path.join(REPO_ROOT, 'cdk', 'tools', 'stage-diff.ts'), path.join(dir, 'input.json'), path.join(dir, 'out', 'staging.md')], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { ...process.env, PR_LABELS: labels, GITHUB_STEP_SUMMARY: summary },
      });
      return { ...r, summary };
    };
    const refused = run('[]');
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stdout, /SecureServerlessBackend-staging \(eu-west-1\)/);
    assert.match(refused.stderr, /1 stateful resource of staging would be replaced or deleted/);
    assert.match(readFileSync(path.join(dir, 'out', 'staging.md'), 'utf8'), /^### ❌/);
    assert.equal(readFileSync(refused.summary, 'utf8'), `${readFileSync(path.join(dir, 'out', 'staging.md'), 'utf8')}\n`);
    const allowed = run(JSON.stringify([STATEFUL_CHANGE_LABEL]));
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.equal(run('oops').status, 2);
    assert.ok(existsSync(path.join(dir, 'out', 'staging.md')));
  });
});
