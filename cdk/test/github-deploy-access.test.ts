import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountConfig, GithubActionsSettings, loadAccountConfig, parseAccountConfig } from '../lib/account-config';
import { DIFF_ROLE_NAME, deployRoleName, environmentSubject, githubSubjectPrefix, pullRequestSubject } from '../lib/github-deploy-access';
import { smokeUserSecretPrefix } from '../lib/operator-access';
import { accountStack, REPO_ROOT, synthStage } from './helpers';

/** The fixture scripts/cdk-test.sh synthesizes: staging in 111111111111/eu-west-1, prod in 222222222222/eu-central-1, IAM in eu-west-1. */
const FIXTURE = path.join(REPO_ROOT, 'cdk', 'test', 'fixtures', 'account-github.json');
const CONFIG = loadAccountConfig(FIXTURE);
const GITHUB = CONFIG.githubActions as GithubActionsSettings;

function withGithub(patch: Partial<GithubActionsSettings>): AccountConfig {
  return { ...CONFIG, githubActions: { ...GITHUB, ...patch } };
}

type Json = unknown;
interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, Json>;
}

/** A template value as a string: Fn::Join flattened, pseudo parameters as ${AWS::…}, other Refs as <Ref id>. */
function render(value: Json): Json {
  if (Array.isArray(value)) return value.map(render);
  if (value && typeof value === 'object') {
    const o = value as Record<string, Json>;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, Json[]];
      return parts.map((p) => String(render(p))).join(sep);
    }
    if ('Ref' in o && Object.keys(o).length === 1) return String(o.Ref).startsWith('AWS::') ? `\${${o.Ref}}` : `<Ref ${o.Ref}>`;
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, render(v)]));
  }
  return value;
}

function roles(t: Template): Record<string, Resource> {
  const out: Record<string, Resource> = {};
  for (const r of Object.values(t.findResources('AWS::IAM::Role')) as Resource[]) out[String(r.Properties.RoleName)] = r;
  return out;
}

/** Evaluates a CloudFormation condition for a stack deployed in `region` of `account`. */
function holds(template: Record<string, Json>, name: string, region: string, account: string): boolean {
  const conditions = template.Conditions as Record<string, Json>;
  const evaluate = (e: Json): Json => {
    if (typeof e === 'string') return e;
    const o = e as Record<string, Json>;
    if ('Ref' in o) return ({ 'AWS::Region': region, 'AWS::AccountId': account } as Record<string, string>)[String(o.Ref)];
    if ('Condition' in o) return evaluate(conditions[String(o.Condition)]);
    if ('Fn::Equals' in o) {
      const [a, b] = o['Fn::Equals'] as Json[];
      return evaluate(a) === evaluate(b);
    }
    if ('Fn::And' in o) return (o['Fn::And'] as Json[]).every((x) => evaluate(x) === true);
    if ('Fn::Or' in o) return (o['Fn::Or'] as Json[]).some((x) => evaluate(x) === true);
    if ('Fn::Not' in o) return evaluate((o['Fn::Not'] as Json[])[0]) !== true;
    throw new Error(`unknown condition ${JSON.stringify(e)}`);
  };
  return evaluate(conditions[name]) === true;
}

/** prod's backup-copy stack (config/stages.json: prod's backup.copy.region is us-west-2). */
const PROD_COPY_STACK = { name: 'SecureServerlessBackend-prod-support-us-west-2', region: 'us-west-2' };
const stackArn = (region: string, stage: string) => `arn:\${AWS::Partition}:cloudformation:${region}:\${AWS::AccountId}:stack/SecureServerlessBackend-${stage}/*`;

/** The exact policy of a stage's deploy role: docs/OPERATOR.md's calls of deploy, smoke-user, token and smoke for that stage. */
function expectedDeployPolicy(stage: string, region: string, others: Array<{ name: string; region: string }> = []): Json {
  const otherRegions = [...new Set(others.map((o) => o.region))];
  const arn = (service: string, resource: string) => `arn:\${AWS::Partition}:${service}:${region}:\${AWS::AccountId}:${resource}`;
  const secret = arn('secretsmanager', `secret:SecureServerlessBackend-${stage}/smoke-user-*`);
  const tagged = { StringEquals: { 'aws:ResourceTag/stack': `SecureServerlessBackend-${stage}` } };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AssumeTheCdkBootstrapRoles',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: [
          `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/cdk-hnb659fds-deploy-role-\${AWS::AccountId}-${region}`,
          `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/cdk-hnb659fds-file-publishing-role-\${AWS::AccountId}-${region}`,
        ],
      },
      { Sid: 'ReadTheBootstrapVersion', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: arn('ssm', 'parameter/cdk-bootstrap/hnb659fds/version') },
      { Sid: 'ReadApiGatewaysAccountSetting', Effect: 'Allow', Action: 'apigateway:GET', Resource: `arn:\${AWS::Partition}:apigateway:${region}::/account` },
      { Sid: 'ReadLambdasAccountSettings', Effect: 'Allow', Action: 'lambda:GetAccountSettings', Resource: '*' },
      { Sid: 'ReadTheStageStack', Effect: 'Allow', Action: ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate'], Resource: stackArn(region, stage) },
      { Sid: 'ReadAndWriteTheSmokeUserSecret', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'], Resource: secret },
      // A stage whose stacks span regions (prod's backup-copy stack): their bootstrap, setting and stacks.
      ...(others.length > 0
        ? [
            {
              Sid: 'DeployTheStagesOtherRegions',
              Effect: 'Allow',
              Action: 'sts:AssumeRole',
              Resource: otherRegions.flatMap((r) => [
                `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/cdk-hnb659fds-deploy-role-\${AWS::AccountId}-${r}`,
                `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/cdk-hnb659fds-file-publishing-role-\${AWS::AccountId}-${r}`,
              ]),
            },
            {
              Sid: 'ReadTheOtherRegionsBootstrapAndApiGatewaySetting',
              Effect: 'Allow',
              Action: ['apigateway:GET', 'ssm:GetParameter'],
              Resource: otherRegions.flatMap((r) => [`arn:\${AWS::Partition}:apigateway:${r}::/account`, `arn:\${AWS::Partition}:ssm:${r}:\${AWS::AccountId}:parameter/cdk-bootstrap/hnb659fds/version`]),
            },
            {
              Sid: 'ReadTheStagesOtherStacks',
              Effect: 'Allow',
              Action: ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate'],
              Resource: others.length === 1 ? `arn:\${AWS::Partition}:cloudformation:${others[0].region}:\${AWS::AccountId}:stack/${others[0].name}/*` : others.map((o) => `arn:\${AWS::Partition}:cloudformation:${o.region}:\${AWS::AccountId}:stack/${o.name}/*`),
            },
          ]
        : []),
      {
        Sid: 'UseTheSecretsKeyThroughSecretsManagerForThatSecretOnly',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: arn('kms', 'key/*'),
        Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` }, StringLike: { 'kms:EncryptionContext:SecretARN': secret } },
      },
      {
        Sid: 'KeepAndSignInTheSmokeUserInTheStagesUserPool',
        Effect: 'Allow',
        Action: [
          'cognito-idp:AdminCreateUser',
          'cognito-idp:AdminDeleteUser',
          'cognito-idp:AdminGetUser',
          'cognito-idp:AdminInitiateAuth',
          'cognito-idp:AdminRespondToAuthChallenge',
          'cognito-idp:AdminSetUserMFAPreference',
          'cognito-idp:DescribeUserPool',
        ],
        Resource: arn('cognito-idp', 'userpool/*'),
        Condition: tagged,
      },
      { Sid: 'ReadTheStagesApiKey', Effect: 'Allow', Action: 'apigateway:GET', Resource: `arn:\${AWS::Partition}:apigateway:${region}::/apikeys/*`, Condition: tagged },
    ],
  };
}

/** The one trust statement a role may have: GitHub's provider, this audience, exactly this subject. */
function expectedTrust(provider: Json, sub: string): Json {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRoleWithWebIdentity',
        Principal: { Federated: provider },
        Condition: { StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com', 'token.actions.githubusercontent.com:sub': sub } },
      },
    ],
  };
}

/** Sorted keys, so that deepEqual compares statements, not key order. */
function canonical(value: Json): Json {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, canonical(v)]));
  return value;
}

describe('GitHub Actions deploy access (config/account.json githubActions)', () => {
  const t = Template.fromStack(accountStack(CONFIG));
  const json = t.toJSON() as Record<string, Json>;
  const byName = roles(t);
  const providerId = Object.keys(t.findResources('AWS::IAM::OIDCProvider'))[0];

  it('declares GitHub\'s OIDC provider for the sts.amazonaws.com audience', () => {
    t.resourceCountIs('AWS::IAM::OIDCProvider', 1);
    t.hasResourceProperties('AWS::IAM::OIDCProvider', { Url: 'https://token.actions.githubusercontent.com', ClientIdList: ['sts.amazonaws.com'] });
  });

  it('trusts each deploy role to exactly its GitHub environment of this repository, and the diff role to its pull requests', () => {
    const provider = `<Ref ${providerId}>`;
    assert.deepEqual(Object.keys(byName).filter((n) => n !== 'SecureServerlessBackend-diff' && n.startsWith('SecureServerlessBackend-')).sort(), ['SecureServerlessBackend-deploy-prod', 'SecureServerlessBackend-deploy-staging']);
    for (const env of ['staging', 'prod']) {
      assert.deepEqual(canonical(render(byName[deployRoleName(env)].Properties.AssumeRolePolicyDocument)), canonical(expectedTrust(provider, `repo:octo-org/octo-repo:environment:${env}`)), env);
    }
    assert.deepEqual(canonical(render(byName[DIFF_ROLE_NAME].Properties.AssumeRolePolicyDocument)), canonical(expectedTrust(provider, 'repo:octo-org/octo-repo:pull_request')));
  });

  it('uses no pattern that could admit another repository, environment or event', () => {
    for (const [name, role] of Object.entries(byName)) {
      if (name === undefined || !name.startsWith('SecureServerlessBackend-')) continue;
      const doc = JSON.stringify(role.Properties.AssumeRolePolicyDocument);
      assert.doesNotMatch(doc, /StringLike|ForAnyValue|ForAllValues|\*|\?/, `${name}: ${doc}`);
    }
  });

  it('grants each deploy role exactly the operator CLI\'s calls for its own stage, in its own region', () => {
    assert.deepEqual(canonical(render((byName[deployRoleName('staging')].Properties.Policies as Array<{ PolicyDocument: Json }>)[0].PolicyDocument)), canonical(expectedDeployPolicy('staging', 'eu-west-1')));
    assert.deepEqual(canonical(render((byName[deployRoleName('prod')].Properties.Policies as Array<{ PolicyDocument: Json }>)[0].PolicyDocument)), canonical(expectedDeployPolicy('prod', 'eu-central-1', [PROD_COPY_STACK])));
    for (const role of Object.values(byName)) {
      assert.equal(role.Properties.ManagedPolicyArns, undefined, 'no managed policy');
      assert.equal((role.Properties.Policies as unknown[] | undefined)?.length ?? 0, 1, 'one inline policy');
    }
  });

  it('grants the diff role reading the stage stacks and nothing else', () => {
    assert.deepEqual(canonical(render((byName[DIFF_ROLE_NAME].Properties.Policies as Array<{ PolicyDocument: Json }>)[0].PolicyDocument)), canonical({
      Version: '2012-10-17',
      Statement: [{ Sid: 'ReadTheStageStacks', Effect: 'Allow', Action: ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate'], Resource: [stackArn('eu-central-1', 'prod'), stackArn('eu-west-1', 'staging'), `arn:\${AWS::Partition}:cloudformation:us-west-2:\${AWS::AccountId}:stack/${PROD_COPY_STACK.name}/*`] }],
    }));
  });

  it('grants exactly the IAM permissions docs/OPERATOR.md lists for the commands CI runs', () => {
    // The table's rows: | Command | Call | IAM permission | Resource |; CI runs deploy, smoke-user and smoke (token's calls are smoke's).
    const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'OPERATOR.md'), 'utf8');
    const rows = doc.split('\n').filter((l) => /^\| [a-z-]+(, [a-z-]+)* \|/.test(l)).map((l) => l.split('|').map((c) => c.trim()));
    const ci = new Set(['deploy', 'smoke-user', 'token', 'smoke']);
    const documented = new Set(rows.filter((r) => r[1].split(', ').some((c) => ci.has(c))).flatMap((r) => [...r[3].matchAll(/`([a-z-]+:[A-Za-z]+)`/g)].map((m) => m[1])));
    const granted = new Set((((byName[deployRoleName('staging')].Properties.Policies as Array<{ PolicyDocument: { Statement: Array<{ Action: string | string[] }> } }>)[0].PolicyDocument.Statement).flatMap((s) => s.Action)));
    assert.ok(documented.size >= 10, `read ${documented.size} permissions from docs/OPERATOR.md`);
    assert.deepEqual([...granted].sort(), [...documented].sort());
  });

  it('exists in iamRegion only, each deploy role in its environment\'s account only', () => {
    const where = (region: string, account: string) =>
      Object.entries(json.Resources as Record<string, Resource>)
        .filter(([, r]) => r.Type === 'AWS::IAM::OIDCProvider' || String(r.Properties?.RoleName ?? '').startsWith('SecureServerlessBackend-'))
        .filter(([, r]) => r.Condition !== undefined && holds(json, r.Condition, region, account))
        .map(([, r]) => String(r.Properties.RoleName ?? r.Type))
        .sort();
    assert.deepEqual(where('eu-west-1', '111111111111'), ['AWS::IAM::OIDCProvider', 'SecureServerlessBackend-deploy-staging', 'SecureServerlessBackend-diff']);
    assert.deepEqual(where('eu-west-1', '222222222222'), ['AWS::IAM::OIDCProvider', 'SecureServerlessBackend-deploy-prod', 'SecureServerlessBackend-diff']);
    assert.deepEqual(where('eu-central-1', '222222222222'), [], 'prod\'s own region holds no IAM: only iamRegion does');
    assert.deepEqual(where('eu-west-1', '333333333333'), [], 'an account that hosts no stage');
    for (const r of Object.values(json.Resources as Record<string, Resource>)) {
      if (r.Type === 'AWS::IAM::OIDCProvider' || String(r.Properties?.RoleName ?? '').startsWith('SecureServerlessBackend-')) assert.ok(r.Condition, `${r.Properties.RoleName ?? r.Type} has a condition`);
    }
    // The API Gateway role of the same stack stays per region.
    assert.equal(Object.values(json.Resources as Record<string, Resource>).find((r) => r.Type === 'AWS::ApiGateway::Account')?.Condition, undefined);
  });

  it('trusts the immutable subject form (owner and repository ids) when the repository emits it', () => {
    const ids = withGithub({ immutableSubject: { ownerId: 123456, repositoryId: 456789 } });
    const r = roles(Template.fromStack(accountStack(ids)));
    const sub = (name: string) => (r[name].Properties.AssumeRolePolicyDocument as { Statement: Array<{ Condition: { StringEquals: Record<string, string> } }> }).Statement[0].Condition.StringEquals['token.actions.githubusercontent.com:sub'];
    assert.equal(sub(deployRoleName('prod')), 'repo:octo-org@123456/octo-repo@456789:environment:prod');
    assert.equal(sub(DIFF_ROLE_NAME), 'repo:octo-org@123456/octo-repo@456789:pull_request');
    assert.equal(githubSubjectPrefix(ids.githubActions as GithubActionsSettings), 'repo:octo-org@123456/octo-repo@456789');
    assert.equal(environmentSubject(GITHUB, 'staging'), 'repo:octo-org/octo-repo:environment:staging');
    assert.equal(pullRequestSubject(GITHUB), 'repo:octo-org/octo-repo:pull_request');
  });

  it('imports the account\'s existing provider by its ARN instead of declaring one', () => {
    const existing = Template.fromStack(accountStack(withGithub({ oidcProvider: 'existing' })));
    existing.resourceCountIs('AWS::IAM::OIDCProvider', 0);
    const trust = render(roles(existing)[DIFF_ROLE_NAME].Properties.AssumeRolePolicyDocument) as { Statement: Array<{ Principal: { Federated: string } }> };
    assert.equal(trust.Statement[0].Principal.Federated, 'arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/token.actions.githubusercontent.com');
  });

  it('is left out by default: config/account.json ships without a repository to trust', () => {
    const t0 = Template.fromStack(accountStack());
    t0.resourceCountIs('AWS::IAM::OIDCProvider', 0);
    assert.deepEqual(Object.keys(roles(t0)).filter((n) => n.startsWith('SecureServerlessBackend-')), []);
  });

  it('meets the stage stack where the conditions point: its stack tag on the pool and the key, its secret name and key policy', () => {
    const stage = synthStage('staging').template;
    const stack = 'SecureServerlessBackend-staging';
    stage.hasResourceProperties('AWS::Cognito::UserPool', { UserPoolTags: { stack } });
    const keys = Object.values(stage.findResources('AWS::ApiGateway::ApiKey')) as Resource[];
    assert.ok(keys.length >= 2, 'a key per client app');
    for (const key of keys) assert.ok((key.Properties.Tags as Array<{ Key: string; Value: string }>).some((tag) => tag.Key === 'stack' && tag.Value === stack), `the API key ${key.Properties.Name} carries the stack tag`);
    const secret = Object.values(stage.findResources('AWS::SecretsManager::Secret'))[0] as Resource;
    assert.ok(JSON.stringify(secret.Properties.Name).includes(smokeUserSecretPrefix(stack)));
    // The smoke-user key lets account principals decrypt through Secrets Manager for that secret name pattern only.
    const keyPolicy = JSON.stringify(render(stage.toJSON().Resources[Object.keys(stage.findResources('AWS::KMS::Key')).find((id) => id.startsWith('OperatorKey')) as string].Properties.KeyPolicy));
    assert.ok(keyPolicy.includes(`:secret:${smokeUserSecretPrefix(stack)}*`), keyPolicy);
  });

  it('refuses a bad githubActions value in one sentence naming the setting', () => {
    const raw = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    const bad = (patch: Record<string, unknown>) => () => parseAccountConfig({ ...raw, githubActions: { ...raw.githubActions, ...patch } });
    assert.throws(bad({ repository: 'octo-org' }), /githubActions\.repository: must be OWNER\/REPO as GitHub spells it \(got "octo-org"\)/);
    assert.throws(bad({ repository: 'octo-org/*' }), /githubActions\.repository: must be OWNER\/REPO/);
    assert.throws(bad({ repository: 'octo:org/repo' }), /githubActions\.repository: must be OWNER\/REPO/);
    assert.throws(bad({ immutableSubject: { ownerId: '1', repositoryId: 2 } }), /githubActions\.immutableSubject\.ownerId: must be an integer/);
    assert.throws(bad({ immutableSubject: undefined }), /githubActions\.immutableSubject: must be null \(the sub claim names the repository\) or \{"ownerId": N, "repositoryId": N\}/);
    assert.throws(bad({ immutableSubject: { owner: 1, repositoryId: 2 } }), /githubActions\.immutableSubject: must be null/);
    assert.throws(bad({ oidcProvider: 'arn:aws:iam::1:oidc-provider/x' }), /githubActions\.oidcProvider: must be one of create, existing/);
    assert.throws(bad({ iamRegion: 'Europe' }), /githubActions\.iamRegion: must be a region such as eu-west-1 \(got "Europe"\)/);
    assert.throws(bad({ environments: {} }), /githubActions\.environments: must name at least one GitHub environment/);
    assert.throws(
      () => accountStack(withGithub({ environments: { 'prod-global': { account: '222222222222', region: 'eu-west-1' } } })),
      /githubActions\.environments\.prod-global\.region: must be the stage's primary region us-east-1 \(config\/stages\.json "regions"\), where its outputs are read \(got "eu-west-1"\)/,
    );
    assert.throws(bad({ environments: { qa: { account: '111111111111', region: 'eu-west-1' } } }), /githubActions\.environments: the environment: must be one of dev, staging, prod, prod-global \(got "qa"\)/);
    assert.throws(bad({ environments: { prod: { account: 222222222222, region: 'eu-west-1' } } }), /environments\.prod\.account: must be a 12-digit AWS account id in quotes \(got 222222222222\)/);
    assert.throws(bad({ environments: { prod: { account: '222222222222', region: 'eu-west-1', role: 'x' } } }), /environments\.prod: has no setting "role"/);
    assert.throws(bad({ owner: 'x' }), /githubActions: has no setting "owner"/);
  });
});
