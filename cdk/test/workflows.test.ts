import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadAccountConfig } from '../lib/account-config';
import { defaultArtifactsDir } from '../lib/artifacts';
import { STAGE_NAMES } from '../lib/config';
import { ciPlan, ciRole } from '../lib/github-deploy-access';
import { STATEFUL_CHANGE_LABEL } from '../lib/stage-diff';
import { REPO_ROOT } from './helpers';

/**
 * The rules the GitHub Actions workflows keep (docs/DEPLOY.md): no logic of their own (each run
 * step is one `make` target the README documents), every action pinned to a commit, id-token
 * only where a role is assumed, no stored AWS key. actionlint checks the syntax (scripts/test.sh).
 */

const WORKFLOWS = path.join(REPO_ROOT, '.github', 'workflows');
interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}
interface Job {
  uses?: string;
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string };
  permissions?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  steps?: Step[];
  env?: Record<string, unknown>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml')).sort();
const text = (f: string) => readFileSync(path.join(WORKFLOWS, f), 'utf8');
const workflows: Record<string, Workflow> = Object.fromEntries(files.map((f) => [f, parse(text(f)) as Workflow]));
const jobs = Object.entries(workflows).flatMap(([file, w]) => Object.entries(w.jobs).map(([id, job]) => ({ file, id, job })));
const steps = jobs.flatMap(({ file, id, job }) => (job.steps ?? []).map((step) => ({ file, id, step })));
const needs = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);

/** The make targets the README's commands table documents (each `make NAME …` in a row's first column). */
function documentedTargets(): Set<string> {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const firstCells = readme.split('\n').filter((l) => l.startsWith('| `make ')).map((l) => l.split(' | ')[0]);
  return new Set(firstCells.flatMap((cell) => [...cell.matchAll(/`make ([a-z-]+)/g)].map((m) => m[1])));
}

const CONFIGURE_AWS = 'aws-actions/configure-aws-credentials';

/** Whether a job assumes an AWS role: it configures credentials itself, or calls a workflow of which a job does. */
function assumesRole(job: Job): boolean {
  if (job.uses?.startsWith('./.github/workflows/')) {
    return Object.values(workflows[path.basename(job.uses)].jobs).some(assumesRole);
  }
  return (job.steps ?? []).some((s) => s.uses?.startsWith(`${CONFIGURE_AWS}@`) === true);
}

describe('the GitHub Actions workflows', () => {
  it('are ci.yml, deploy.yml and the build.yml both call', () => {
    assert.deepEqual(files, ['build.yml', 'ci.yml', 'deploy.yml']);
    for (const caller of ['ci.yml', 'deploy.yml']) assert.equal(workflows[caller].jobs.build.uses, './.github/workflows/build.yml', caller);
  });

  it('run nothing but make targets the README documents, one per step', () => {
    const targets = documentedTargets();
    assert.ok(targets.has('test') && targets.has('deploy'), 'read the README commands table');
    const runs = steps.filter((s) => s.step.run !== undefined);
    assert.ok(runs.length >= 10);
    for (const { file, id, step } of runs) {
      const where = `${file} ${id}: ${JSON.stringify(step.run)}`;
      const m = /^make ([a-z-]+)((?: [A-Z_]+=[A-Za-z0-9_./${}: -]*?)*)$/.exec(String(step.run).trim());
      assert.ok(m, `${where} is one make command with VAR=value arguments`);
      assert.doesNotMatch(String(step.run), /[;&|`\n]|\$\(/, `${where} holds no shell logic`);
      assert.ok(targets.has(m[1]), `${where}: make ${m[1]} is not in the README's commands table`);
    }
  });

  it('pin every action to a full commit SHA with its version in a comment', () => {
    const pins = new Map<string, string>();
    for (const f of files) {
      for (const line of text(f).split('\n').filter((l) => /^\s*(- )?uses:/.test(l))) {
        const local = /uses: \.\/\.github\/workflows\/[a-z-]+\.yml$/.test(line.trim());
        if (local) continue;
        const m = /uses: ([\w.-]+\/[\w.-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$/.exec(line.trim());
        assert.ok(m, `${f}: ${line.trim()} is pinned as owner/repo@<40-hex SHA> # vX.Y.Z`);
        const [, action, sha] = m;
        assert.equal(pins.get(action) ?? sha, sha, `${action} is pinned to one commit everywhere`);
        pins.set(action, sha);
      }
    }
    assert.ok(pins.size >= 8, [...pins.keys()].join(', '));
  });

  it('give each job its own minimal permissions, id-token: write only where a role is assumed', () => {
    for (const [file, w] of Object.entries(workflows)) assert.deepEqual(w.permissions, {}, `${file}: no workflow-wide permission`);
    for (const { file, id, job } of jobs) {
      const where = `${file} ${id}`;
      assert.ok(job.permissions, `${where} states its permissions`);
      const p = job.permissions as Record<string, string>;
      assert.equal(p['id-token'] === 'write', assumesRole(job), `${where}: id-token: write if and only if it assumes a role`);
      for (const [scope, level] of Object.entries(p)) {
        if (level === 'write') assert.ok(scope === 'id-token' || (scope === 'pull-requests' && id === 'diff-comment'), `${where}: ${scope}: write`);
      }
      if (p['pull-requests'] === 'write') assert.equal(assumesRole(job), false, `${where} writes comments and holds no AWS role`);
    }
  });

  it('store no AWS key: no secret is read, credentials come from OIDC only', () => {
    for (const f of files) assert.doesNotMatch(text(f), /secrets\.|aws-access-key-id|aws-secret-access-key|aws-session-token|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/, f);
    const configures = steps.filter((s) => s.step.uses?.startsWith(`${CONFIGURE_AWS}@`));
    assert.ok(configures.length >= 3);
    for (const { file, id, step } of configures) {
      assert.deepEqual(Object.keys(step.with ?? {}).sort(), ['allowed-account-ids', 'aws-region', 'role-session-name', 'role-to-assume'], `${file} ${id}`);
      assert.match(String(step.with?.['role-to-assume']), /^\$\{\{ steps\.role\.outputs\.role-arn \}\}$/, `${file} ${id}: the role make ci-role names`);
    }
    for (const { file, id, step } of steps.filter((s) => s.step.uses?.startsWith('actions/checkout@'))) assert.equal(step.with?.['persist-credentials'], false, `${file} ${id}`);
  });

  it('deploy staging, then prod behind its environment, one deploy per stage at a time, from the build\'s zips', () => {
    const d = workflows['deploy.yml'];
    assert.deepEqual(d.on, { push: { branches: ['main'] } });
    assert.deepEqual(Object.keys(d.jobs), ['build', 'staging', 'prod']);
    assert.deepEqual(needs(d.jobs.staging), ['build']);
    assert.deepEqual(needs(d.jobs.prod), ['build', 'staging']);
    for (const stage of ['staging', 'prod']) {
      const job = d.jobs[stage];
      assert.ok((STAGE_NAMES as readonly string[]).includes(stage));
      assert.equal(job.environment, stage, 'the GitHub environment is the stage (its deploy role trusts that environment)');
      assert.deepEqual(job.concurrency, { group: `deploy-${stage}`, 'cancel-in-progress': false });
      const runs = (job.steps ?? []).filter((s) => s.run).map((s) => s.run);
      assert.deepEqual(runs, [
        'make setup-node',
        `make ci-role ENVIRONMENT=${stage} ROLE=deploy`,
        `make deploy STAGE=${stage} BUILD=false REQUIRE_APPROVAL=never OPERATOR_BIN=target/debug/operator`,
        `make smoke-user STAGE=${stage} OPERATOR_BIN=target/debug/operator`,
        `make smoke STAGE=${stage} OPERATOR_BIN=target/debug/operator`,
      ]);
      const downloads = (job.steps ?? []).filter((s) => s.uses?.startsWith('actions/download-artifact@')).map((s) => s.with);
      assert.deepEqual(downloads, [
        { name: 'lambda-arm64', path: 'target/lambda/arm64' },
        { name: 'operator', path: 'target/debug' },
      ]);
      const order = (job.steps ?? []).map((s) => s.uses?.split('@')[0] ?? s.run);
      assert.ok(order.indexOf('actions/checkout') < order.indexOf('actions/download-artifact'), 'artifacts land after the checkout, which would clean them');
    }
  });

  it('upload the arm64 zips from where make build leaves them, and the operator make test built', () => {
    const uploads = (workflows['build.yml'].jobs.test.steps ?? []).filter((s) => s.uses?.startsWith('actions/upload-artifact@')).map((s) => s.with);
    assert.deepEqual(uploads, [
      { name: 'lambda-arm64', path: `${path.relative(REPO_ROOT, defaultArtifactsDir(REPO_ROOT, 'arm64'))}/`, 'if-no-files-found': 'error' },
      { name: 'operator', path: 'target/debug/operator', 'if-no-files-found': 'error' },
    ]);
    const test = workflows['build.yml'].jobs.test.steps ?? [];
    assert.deepEqual(test.filter((s) => s.run).map((s) => s.run), ['make test']);
    const cached = test.filter((s) => s.uses?.startsWith('actions/cache@') || (s.with && 'cache' in s.with)).map((s) => s.with?.key ?? s.with?.['cache-dependency-path']);
    assert.deepEqual(cached, ['package-lock.json', 'requirements-dev.txt', "cargo-${{ runner.os }}-${{ hashFiles('Cargo.lock', 'fuzz/Cargo.lock') }}"], 'npm, pip and cargo caches keyed on the lock files');
  });

  it('diff every environment of config/account.json on pull requests, with the labels, and comment once per stage', () => {
    const ci = workflows['ci.yml'];
    assert.deepEqual((ci.on.pull_request as { types: string[] }).types, ['opened', 'synchronize', 'reopened', 'labeled', 'unlabeled']);
    const diff = ci.jobs.diff;
    assert.equal(diff.if?.includes("github.event_name == 'pull_request'"), true);
    assert.equal((diff as { strategy?: { matrix?: { stage?: string } } }).strategy?.matrix?.stage, '${{ fromJSON(needs.build.outputs.environments) }}');
    const run = (diff.steps ?? []).find((s) => s.run?.startsWith('make diff'));
    assert.equal(run?.run, 'make diff STAGE=${{ matrix.stage }} BUILD=false OPERATOR_BIN=target/debug/operator');
    assert.deepEqual(run?.env, { PR_LABELS: '${{ toJSON(github.event.pull_request.labels.*.name) }}' });
    const comment = (ci.jobs['diff-comment'].steps ?? []).find((s) => s.uses?.startsWith('marocchino/sticky-pull-request-comment@'));
    assert.deepEqual(comment?.with, { header: 'cdk-diff-${{ matrix.stage }}', path: 'target/diff/${{ matrix.stage }}.md' });
    const deployDoc = readFileSync(path.join(REPO_ROOT, 'docs', 'DEPLOY.md'), 'utf8');
    assert.ok(deployDoc.includes(STATEFUL_CHANGE_LABEL), 'docs/DEPLOY.md names the label');
  });

  it('get roles and regions from config/account.json through make ci-plan and make ci-role', () => {
    const config = loadAccountConfig(path.join(REPO_ROOT, 'cdk', 'test', 'fixtures', 'account-github.json'));
    assert.deepEqual(ciPlan(config), { configured: true, environments: ['staging', 'prod'] });
    assert.deepEqual(ciRole(config, 'prod', 'deploy'), { roleArn: 'arn:aws:iam::222222222222:role/SecureServerlessBackend-deploy-prod', region: 'eu-central-1', account: '222222222222' });
    assert.deepEqual(ciRole(config, 'staging', 'diff'), { roleArn: 'arn:aws:iam::111111111111:role/SecureServerlessBackend-diff', region: 'eu-west-1', account: '111111111111' });
    assert.throws(() => ciRole(config, 'dev', 'deploy'), /githubActions\.environments has no "dev" \(it has staging, prod\)/);
    assert.deepEqual(ciPlan(loadAccountConfig(path.join(REPO_ROOT, 'config', 'account.json'))), { configured: false, environments: [] }, 'the shipped config skips the AWS jobs');
  });

  it('keep Dependabot to one grouped pull request per ecosystem and directory a week', () => {
    const d = parse(readFileSync(path.join(REPO_ROOT, '.github', 'dependabot.yml'), 'utf8')) as {
      updates: Array<{ 'package-ecosystem': string; directory?: string; directories?: string[]; schedule: { interval: string }; groups: Record<string, { patterns: string[] }> }>;
    };
    const covered = d.updates.flatMap((u) => (u.directories ?? [u.directory]).map((dir) => `${u['package-ecosystem']} ${dir}`)).sort();
    assert.deepEqual(covered, ['cargo /', 'cargo /fuzz', 'github-actions /', 'npm /', 'pip /', 'pip /bench/python']);
    for (const u of d.updates) {
      assert.equal(u.schedule.interval, 'weekly');
      assert.deepEqual(Object.values(u.groups).map((g) => g.patterns), [['*']], `${u['package-ecosystem']}: every update in one group`);
    }
  });
});
