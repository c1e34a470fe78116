import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import { parseAccountConfig } from '../lib/account-config';
import { accountStack, REPO_ROOT } from './helpers';

const RAW = JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'account.json'), 'utf8'));

describe('the account stack (config/account.json)', () => {
  it('declares the API Gateway CloudWatch role and the region setting naming it, by default', () => {
    const t = Template.fromStack(accountStack());
    t.resourceCountIs('AWS::ApiGateway::Account', 1);
    const [roleId] = Object.keys(t.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'apigateway.amazonaws.com' } }] } } }));
    assert.ok(roleId, 'a role API Gateway assumes');
    t.hasResourceProperties('AWS::ApiGateway::Account', { CloudWatchRoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] } });
    // It belongs to this stack alone: deleting the stack deletes it, nothing is orphaned.
    for (const [id, r] of Object.entries(t.toJSON().Resources as Record<string, { DeletionPolicy?: string }>)) assert.notEqual(r.DeletionPolicy, 'Retain', id);
    t.resourceCountIs('AWS::Budgets::Budget', 0);
  });

  it('leaves the role out for an account that already has one, and adds the account budget when asked', () => {
    const t = Template.fromStack(accountStack({ apiGatewayCloudWatchRole: false, budget: { monthlyUsd: 300, emails: ['billing@example.com'] }, githubActions: null }));
    t.resourceCountIs('AWS::ApiGateway::Account', 0);
    t.resourceCountIs('AWS::IAM::Role', 0);
    t.hasResourceProperties('AWS::Budgets::Budget', {
      Budget: { BudgetType: 'COST', TimeUnit: 'MONTHLY', BudgetLimit: { Amount: 300, Unit: 'USD' } },
      NotificationsWithSubscribers: [
        { Notification: { NotificationType: 'ACTUAL', Threshold: 80 }, Subscribers: [{ SubscriptionType: 'EMAIL', Address: 'billing@example.com' }] },
        { Notification: { NotificationType: 'FORECASTED', Threshold: 100 }, Subscribers: [{ SubscriptionType: 'EMAIL', Address: 'billing@example.com' }] },
      ],
    });
    const budget = Object.values(t.findResources('AWS::Budgets::Budget'))[0] as { Properties: { Budget: Record<string, unknown> } };
    assert.equal(budget.Properties.Budget.CostFilters, undefined, 'the account budget counts the whole account');
  });

  it('rejects a bad value in one sentence naming the setting and the value', () => {
    const bad = (patch: Record<string, unknown>) => () => parseAccountConfig({ ...RAW, ...patch });
    assert.throws(bad({ apiGatewayCloudWatchRole: 'yes' }), /: config\/account\.json: apiGatewayCloudWatchRole: must be true or false \(got "yes"\)$/);
    assert.throws(bad({ budget: { monthlyUsd: 0, emails: ['a@example.com'] } }), /config\/account\.json: budget\.monthlyUsd: must be an integer from 1 to \d+ \(got 0\)/);
    assert.throws(bad({ budget: { monthlyUsd: 10, emails: [] } }), /config\/account\.json: budget\.emails: must list 1 to 10 e-mail addresses \(got \[\]\)/);
    assert.throws(bad({ budget: { monthlyUsd: 10, emails: ['not-an-address'] } }), /budget\.emails: each entry must be an e-mail address \(got "not-an-address"\)/);
    assert.throws(bad({ githubOidc: true }), /config\/account\.json: has no setting "githubOidc" \(known: apiGatewayCloudWatchRole, budget, githubActions\)/);
  });

  it('is what `cdk synth -c stack=account` makes, without any Lambda zip, instead of a stage stack', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'ssb-account-'));
    execFileSync('npx', ['--no-install', 'cdk', 'synth', '-c', 'stack=account', '-c', 'artifactsDir=does-not-exist', '--quiet', '-o', out], {
      cwd: REPO_ROOT,
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const templates = readdirSync(out).filter((f) => f.endsWith('.template.json'));
    assert.deepEqual(templates, ['SecureServerlessBackend-account.template.json']);
  });
});
