/**
 * What a first real deploy needs from the templates, one assertion per go-live finding: alarms
 * that reach a person, redeploys after a destroy, nothing account-wide in a stage, budgets per
 * stage, WAF rules that let valid items through, method settings that say what they mean,
 * Cognito's plan and OAuth, the API's name, and reserved concurrency a standard account accepts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SecureServerlessBackendStack } from '../lib/stack';
import { fakeArtifacts, newApp, REPO_ROOT, stageConfig, synthStage } from './helpers';
import { ACCOUNT, allows, PARTITION, REGION, resolve } from './policy';

type Resource = { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
const STAGES = ['dev', 'staging', 'prod'];

function template(stage: string): { resources: Record<string, Resource>; stackName: string } {
  const { stack, template: t } = synthStage(stage);
  return { resources: t.toJSON().Resources, stackName: stack.stackName };
}
const ofType = (resources: Record<string, Resource>, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('alarms reach a person', () => {
  for (const stage of STAGES) {
    it(`${stage}: the topic and its key let this stack's alarms and this account's budgets publish, and nobody else`, () => {
      const { resources, stackName } = template(stage);
      const [[topicId, topic]] = ofType(resources, 'AWS::SNS::Topic');
      const topicArn = resolve({ Ref: topicId }, resources, stackName);
      const topicPolicy = ofType(resources, 'AWS::SNS::TopicPolicy').find(([, p]) => JSON.stringify(p.Properties!.Topics).includes(topicId));
      assert.ok(topicPolicy, 'the topic has a policy');
      const topicDoc = resolve(topicPolicy[1].Properties!.PolicyDocument, resources, stackName);
      const keyId = topic.Properties!.KmsMasterKeyId['Fn::GetAtt'][0];
      const keyDoc = resolve(resources[keyId].Properties!.KeyPolicy, resources, stackName);

      const alarms = ofType(resources, 'AWS::CloudWatch::Alarm');
      assert.ok(alarms.length > 0);
      for (const [id, alarm] of alarms) {
        // CloudFormation names an unnamed alarm "<stack>-<logical id>-<suffix>".
        const name = alarm.Properties!.AlarmName ? resolve(alarm.Properties!.AlarmName, resources, stackName) : `${stackName}-${id}-1A2B3C4D5E6F`;
        const context = { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': `arn:${PARTITION}:cloudwatch:${REGION}:${ACCOUNT}:alarm:${name}`, 'aws:SecureTransport': 'true' };
        assert.ok(allows(topicDoc, { service: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: topicArn, context }), `${id} may publish to the topic`);
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
          assert.ok(allows(keyDoc, { service: 'cloudwatch.amazonaws.com', action, resource: '*', context }), `${id} may ${action} with the topic key`);
        }
      }
      const budget = { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': `arn:${PARTITION}:budgets::${ACCOUNT}:budget/${stackName}-budget`, 'aws:SecureTransport': 'true' };
      assert.ok(allows(topicDoc, { service: 'budgets.amazonaws.com', action: 'sns:Publish', resource: topicArn, context: budget }), 'Budgets may publish');
      assert.ok(allows(keyDoc, { service: 'budgets.amazonaws.com', action: 'kms:GenerateDataKey', resource: '*', context: budget }), 'Budgets may use the key');

      const strangers = [
        { 'aws:SourceAccount': '444455556666', 'aws:SourceArn': `arn:${PARTITION}:cloudwatch:${REGION}:444455556666:alarm:${stackName}-Api5xx`, 'aws:SecureTransport': 'true' },
        { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': `arn:${PARTITION}:cloudwatch:${REGION}:${ACCOUNT}:alarm:someone-elses-alarm`, 'aws:SecureTransport': 'true' },
      ];
      for (const context of strangers) {
        assert.ok(!allows(topicDoc, { service: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: topicArn, context }), `not on behalf of ${context['aws:SourceArn']}`);
      }
    });
  }

  it('staging and prod refuse to synthesize without a subscriber, in one sentence naming both ways to set one', () => {
    for (const stage of ['staging', 'prod']) {
      const config = { ...stageConfig(stage), alarmEmail: null };
      assert.throws(
        () => new SecureServerlessBackendStack(newApp(), `NoSubscriber-${stage}`, { stage, config, repoRoot: REPO_ROOT, artifactsDir: fakeArtifacts('arm64'), checkArtifactFreshness: false }),
        (e: Error) => e.message.includes('"alarmEmail"') && e.message.includes('config/stages.json') && e.message.includes('-c alarmEmail=') && e.message.trim().split(/\.\s/).length === 1,
        stage,
      );
    }
  });

  it('subscribes the address to the topic and the budget in staging and prod', () => {
    for (const stage of ['staging', 'prod']) {
      const { resources } = template(stage);
      const subscriptions = ofType(resources, 'AWS::SNS::Subscription');
      assert.equal(subscriptions.length, 1, stage);
      assert.equal(subscriptions[0][1].Properties!.Protocol, 'email');
    }
  });
});

describe('a destroy and a redeploy never collide with what the first stack left', () => {
  for (const stage of STAGES) {
    it(`${stage}: every retained resource's name is unique per stack creation (or left to CloudFormation)`, () => {
      const { resources, stackName } = template(stage);
      for (const [id, r] of Object.entries(resources)) {
        if (r.DeletionPolicy !== 'Retain' && r.UpdateReplacePolicy !== 'Retain') continue;
        for (const [prop, value] of Object.entries(r.Properties ?? {})) {
          if (!/Name$/.test(prop) || typeof value === 'undefined') continue;
          const refs = JSON.stringify(value);
          // A reference to the stack id or to a resource this stack creates changes with each creation.
          const unique = refs.includes('AWS::StackId') || Object.keys(resources).some((other) => refs.includes(`"${other}"`));
          assert.ok(unique, `${id} (${r.Type}) is retained with the fixed ${prop} ${refs}: a second stack named ${stackName} would fail with "already exists"`);
        }
      }
    });
  }
});

describe('nothing account- or region-wide in a stage', () => {
  for (const stage of STAGES) {
    it(`${stage}: no API Gateway account setting, no role for API Gateway, one budget filtered to the stage`, () => {
      const { resources, stackName } = template(stage);
      assert.deepEqual(ofType(resources, 'AWS::ApiGateway::Account'), []);
      const apigwRoles = ofType(resources, 'AWS::IAM::Role').filter(([, r]) => JSON.stringify(r.Properties!.AssumeRolePolicyDocument).includes('apigateway.amazonaws.com'));
      assert.deepEqual(apigwRoles.map(([id]) => id), []);
      const budgets = ofType(resources, 'AWS::Budgets::Budget');
      assert.equal(budgets.length, 1);
      assert.deepEqual(budgets[0][1].Properties!.Budget.CostFilters, { TagKeyValue: [`user:stack$${stackName}`] }, 'the budget counts only resources tagged stack=<stack name>');
    });

    it(`${stage}: the resources that cost money carry the tag the budget filters on`, () => {
      const { resources, stackName } = template(stage);
      for (const type of ['AWS::Lambda::Function', 'AWS::DynamoDB::Table', 'AWS::WAFv2::WebACL', 'AWS::ApiGateway::RestApi', 'AWS::ApiGateway::Stage', 'AWS::Logs::LogGroup', 'AWS::Cognito::UserPool']) {
        for (const [id, r] of ofType(resources, type)) {
          const tags = r.Properties!.Tags ?? r.Properties!.UserPoolTags;
          const list = Array.isArray(tags) ? tags : Object.entries(tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
          assert.ok(list.some((t: { Key: string; Value: string }) => t.Key === 'stack' && t.Value === stackName), `${id} (${type}) is tagged stack=${stackName}`);
        }
      }
    });
  }
});

describe('WAF lets valid items through', () => {
  for (const stage of STAGES) {
    it(`${stage}: every managed rule that inspects the body only counts`, () => {
      const { resources } = template(stage);
      const [[, acl]] = ofType(resources, 'AWS::WAFv2::WebACL');
      const counted = new Map<string, string[]>();
      for (const rule of acl.Properties!.Rules) {
        const group = rule.Statement.ManagedRuleGroupStatement;
        if (group) counted.set(group.Name, (group.RuleActionOverrides ?? []).filter((o: any) => o.ActionToUse.Count).map((o: any) => o.Name));
      }
      // The body rules of each managed group deployed (AWS WAF developer guide, managed rule groups list).
      const bodyRules: Record<string, string[]> = {
        AWSManagedRulesCommonRuleSet: ['SizeRestrictions_BODY', 'CrossSiteScripting_BODY', 'GenericLFI_BODY', 'GenericRFI_BODY', 'EC2MetaDataSSRF_BODY'],
      };
      for (const [group, rules] of Object.entries(bodyRules)) {
        assert.ok(counted.has(group), `${group} is deployed`);
        for (const rule of rules) assert.ok(counted.get(group)!.includes(rule), `${group}/${rule} only counts`);
      }
      assert.ok(!counted.has('AWSManagedRulesSQLiRuleSet'), 'the SQL injection group is not deployed (no SQL behind the API; docs/STACK.md)');
    });
  }
});

describe('every method-settings entry states its logging, data tracing and metrics', () => {
  for (const stage of STAGES) {
    it(stage, () => {
      const { resources } = template(stage);
      const [[, st]] = ofType(resources, 'AWS::ApiGateway::Stage');
      const entries: any[] = st.Properties!.MethodSettings;
      assert.ok(entries.length > 1, 'the stage-wide entry and the per-method overrides');
      for (const e of entries) {
        assert.deepEqual(
          { LoggingLevel: e.LoggingLevel, DataTraceEnabled: e.DataTraceEnabled, MetricsEnabled: e.MetricsEnabled },
          { LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true },
          `${e.HttpMethod} ${e.ResourcePath}`,
        );
      }
    });
  }
});

describe('Cognito plan, OAuth and the API name', () => {
  it('dev does not pay for Plus: threat protection is off there, and the pool on Essentials', () => {
    assert.equal(stageConfig('dev').threatProtection, 'OFF');
    const [[, pool]] = ofType(template('dev').resources, 'AWS::Cognito::UserPool');
    assert.equal(pool.Properties!.UserPoolTier, 'ESSENTIALS');
  });

  for (const stage of STAGES) {
    const config = stageConfig(stage);
    it(`${stage}: the user pool is on Plus only with threat protection on (${config.threatProtection})`, () => {
      const { resources } = template(stage);
      const [[, pool]] = ofType(resources, 'AWS::Cognito::UserPool');
      if (config.threatProtection === 'OFF') {
        assert.equal(pool.Properties!.UserPoolTier, 'ESSENTIALS');
        assert.equal(pool.Properties!.UserPoolAddOns, undefined, 'no threat protection settings on Essentials');
      } else {
        assert.equal(pool.Properties!.UserPoolTier, 'PLUS');
        assert.deepEqual(pool.Properties!.UserPoolAddOns, { AdvancedSecurityMode: config.threatProtection });
      }
    });

    it(`${stage}: the app client signs in with SRP only, OAuth off`, () => {
      const { resources } = template(stage);
      // The callers' client; the operator client (operator-access.test.ts) is the other one.
      const clients = ofType(resources, 'AWS::Cognito::UserPoolClient').filter(([id]) => id.startsWith('Identity'));
      assert.equal(clients.length, 1);
      const c = clients[0][1].Properties!;
      assert.deepEqual([...c.ExplicitAuthFlows].sort(), ['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_SRP_AUTH']);
      for (const key of ['AllowedOAuthFlows', 'AllowedOAuthScopes', 'CallbackURLs', 'LogoutURLs']) assert.equal(c[key], undefined, key);
      assert.notEqual(c.AllowedOAuthFlowsUserPoolClient, true);
    });

    it(`${stage}: the REST API is named after its stack and stage`, () => {
      const { resources, stackName } = template(stage);
      const [[, api]] = ofType(resources, 'AWS::ApiGateway::RestApi');
      assert.equal(api.Properties!.Name, stackName);
      assert.ok(stackName.endsWith(`-${stage}`));
    });
  }
});

describe('reserved concurrency a standard account accepts', () => {
  it('every stage in one account and region reserves at most half of what a standard account can reserve', () => {
    // A standard account: 1,000 concurrent executions, of which Lambda keeps 100 unreserved.
    // This project's stages together take at most half of the other 900 (docs/STACK.md).
    const reservable = 1000 - 100;
    let total = 0;
    for (const stage of STAGES) {
      const { resources } = template(stage);
      for (const [, fn] of ofType(resources, 'AWS::Lambda::Function')) total += fn.Properties!.ReservedConcurrentExecutions ?? 0;
    }
    assert.ok(total <= reservable / 2, `the stages reserve ${total} concurrent executions together; at most ${reservable / 2}`);
  });
});
