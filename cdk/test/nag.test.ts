import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, NagPack, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import * as path from 'node:path';
import { loadAccountConfig } from '../lib/account-config';
import { NAG_ACKNOWLEDGEMENTS_CONTEXT } from '../lib/compliance';
import { SecureServerlessBackendStack } from '../lib/stack';
import { accountStack, buildStage, fakeArtifacts, newApp, REPO_ROOT, stageConfig, synthStage } from './helpers';

const packs = (): NagPack[] => [new AwsSolutionsChecks(), new ServerlessChecks()];

/** Every acknowledgement in the tree: the construct path it sits on, the rule id and the reason. */
function acknowledgements(root: IConstruct): Array<{ path: string; rule: string; reason: string }> {
  const out: Array<{ path: string; rule: string; reason: string }> = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ path: c.node.path, rule: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return out;
}

/** Every finding of the packs on a tree (built with -c nagAcknowledgements=false, none is acknowledged). */
function findings(root: IConstruct): Array<{ rule: string; path: string }> {
  return packs().flatMap((pack) => pack.validateScope(root).violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' }))));
}

const trees: Array<{ name: string; stack: () => IConstruct; raw: () => IConstruct }> = [
  // Every stack of the stage: prod's backup-copy stack, prod-global's stacks in both regions.
  ...['dev', 'staging', 'prod', 'prod-global'].map((stage) => ({
    name: stage,
    stack: () => synthStage(stage).app,
    raw: () => buildStage(stage, 'arm64', { [NAG_ACKNOWLEDGEMENTS_CONTEXT]: 'false' }).app,
  })),
  { name: 'the account stack', stack: () => accountStack(), raw: () => accountStack(undefined, { [NAG_ACKNOWLEDGEMENTS_CONTEXT]: 'false' }) },
  {
    name: 'the account stack with GitHub Actions\' deploy access',
    stack: () => accountStack(githubAccount()),
    raw: () => accountStack(githubAccount(), { [NAG_ACKNOWLEDGEMENTS_CONTEXT]: 'false' }),
  },
];

function githubAccount() {
  return loadAccountConfig(path.join(REPO_ROOT, 'cdk', 'test', 'fixtures', 'account-github.json'));
}

for (const tree of trees) {
  describe(`cdk-nag on ${tree.name}`, () => {
    const stack = tree.stack();

    for (const pack of packs()) {
      it(`${pack.readPackName}: no unacknowledged finding`, () => {
        const report = pack.validateScope(stack);
        const found = report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
        assert.deepEqual(found, [], `findings:\n${found.join('\n')}`);
        assert.equal(report.success, true);
      });
    }

    it('acknowledges nothing that is not found, each with a reason', () => {
      // The same tree built without acknowledgements: construct paths are the same in both.
      const raw = findings(tree.raw());
      assert.ok(raw.length >= acknowledgements(stack).length, 'the raw tree has the acknowledged findings');
      for (const ack of acknowledgements(stack)) {
        assert.ok(ack.reason.length >= 40, `${ack.rule} on ${ack.path} states its reason`);
        assert.ok(
          raw.some((f) => f.rule === ack.rule && (f.path === ack.path || f.path.startsWith(`${ack.path}/`))),
          `${ack.rule} acknowledged on ${ack.path} but nothing there breaks it`,
        );
      }
    });

    const stageStacks = [stack, ...stack.node.children].filter((c): c is SecureServerlessBackendStack => c instanceof SecureServerlessBackendStack);
    for (const stageStack of stageStacks) {
      it(`${stageStack.stackName}: acknowledges the X-Ray wildcard on each function role only`, () => {
        const wildcard = acknowledgements(stageStack).filter((a) => a.rule === 'AwsSolutions-IAM5[Resource::*]');
        assert.equal(wildcard.length, Object.keys(stageStack.functions).length);
        for (const a of wildcard) assert.match(a.path, /\/Role$/);
        assert.match(wildcard[0].reason, /X-Ray/);
      });
    }
  });
}

describe('cdk-nag as a synth-time validation plugin', () => {
  const build = (extra?: (s: SecureServerlessBackendStack) => void) => {
    const app = newApp();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
    const stack = new SecureServerlessBackendStack(app, 'SecureServerlessBackend-dev', {
      stage: 'dev',
      config: stageConfig('dev'),
      repoRoot: REPO_ROOT,
      artifactsDir: fakeArtifacts('arm64'),
      buildMissingArtifacts: false,
      checkArtifactFreshness: false,
    });
    extra?.(stack);
    return app;
  };

  it('lets the stack synthesize, as bin/app.ts registers the packs', () => {
    assert.doesNotThrow(() => build().synth());
  });

  it('stops synth on an unacknowledged finding', () => {
    const app = build((s) => new sqs.Queue(s, 'UnencryptedQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED }));
    assert.throws(() => app.synth(), /Validation failed|AwsSolutions-SQS/);
  });
});
