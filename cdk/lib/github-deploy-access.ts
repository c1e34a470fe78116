import { Aws, CfnCondition, CfnOutput, DefaultStackSynthesizer, Duration, Fn, ICfnConditionExpression } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AccountConfig, GithubActionsSettings } from './account-config';
import { acknowledgeNag, cfnOf } from './compliance';
import { ConfigError, StageConfig } from './config';
import { otherStacksOf } from './multi-region';
import { smokeUserSecretPrefix } from './operator-access';
import { constructId, COST_ALLOCATION_TAG_KEY, stageStackName } from './stack';

/** GitHub's OIDC issuer (the provider's URL without https://, and the prefix of its condition keys). */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
/** The audience aws-actions/configure-aws-credentials asks GitHub for. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';
/** The read-only role pull requests diff every stage through. */
export const DIFF_ROLE_NAME = 'SecureServerlessBackend-diff';

/** The role the GitHub environment `environment` (a stage) deploys and smoke-tests through. */
export function deployRoleName(environment: string): string {
  return `SecureServerlessBackend-deploy-${environment}`;
}

/**
 * The start of every `sub` claim of this repository's tokens: `repo:OWNER/REPO`, or, in GitHub's
 * immutable form, `repo:OWNER@OWNER_ID/REPO@REPO_ID` (GitHub's OpenID Connect reference,
 * "Immutable subject claims": `@` separates a name from its id, and cannot appear in either).
 */
export function githubSubjectPrefix(s: GithubActionsSettings): string {
  const [owner, repository] = s.repository.split('/');
  return s.immutableSubject ? `repo:${owner}@${s.immutableSubject.ownerId}/${repository}@${s.immutableSubject.repositoryId}` : `repo:${owner}/${repository}`;
}

/** The `sub` of a job that names `environment:` (GitHub puts the environment in place of the ref). */
export function environmentSubject(s: GithubActionsSettings, environment: string): string {
  return `${githubSubjectPrefix(s)}:environment:${environment}`;
}

/** The `sub` of a job run for a pull_request event without an environment. */
export function pullRequestSubject(s: GithubActionsSettings): string {
  return `${githubSubjectPrefix(s)}:pull_request`;
}

/** `arn:<partition>:iam::<account>:role/<name>` as a workflow needs it (the commercial partition). */
export function roleArn(account: string, name: string): string {
  return `arn:aws:iam::${account}:role/${name}`;
}

/** What the workflows need to know before they assume a role (make ci-plan). */
export interface CiPlan {
  /** Whether config/account.json sets githubActions: without it the AWS jobs are skipped. */
  readonly configured: boolean;
  /** The GitHub environments (stages) in config order: the pull-request diff's matrix. */
  readonly environments: readonly string[];
}

export function ciPlan(config: AccountConfig): CiPlan {
  return { configured: config.githubActions !== null, environments: Object.keys(config.githubActions?.environments ?? {}) };
}

/** The role a job of `environment` assumes and where (make ci-role): its deploy role, or the diff role of its account. */
export interface CiRole {
  readonly roleArn: string;
  readonly region: string;
  readonly account: string;
}

export function ciRole(config: AccountConfig, environment: string, purpose: 'deploy' | 'diff'): CiRole {
  const s = config.githubActions;
  if (!s) throw new Error('config/account.json sets no githubActions: docs/DEPLOY.md says what to set.');
  const where = s.environments[environment];
  if (!where) throw new Error(`config/account.json: githubActions.environments has no ${JSON.stringify(environment)} (it has ${Object.keys(s.environments).join(', ')}).`);
  return { roleArn: roleArn(where.account, purpose === 'deploy' ? deployRoleName(environment) : DIFF_ROLE_NAME), region: where.region, account: where.account };
}

/** A CDK synthesizer default (`${Qualifier}`, `${AWS::Region}` …) with the qualifier and a fixed region, the rest as tokens. */
function bootstrapName(template: string, region: string): string {
  return template
    .replaceAll('${Qualifier}', DefaultStackSynthesizer.DEFAULT_QUALIFIER)
    .replaceAll('${AWS::Region}', region)
    .replaceAll('${AWS::Partition}', Aws.PARTITION)
    .replaceAll('${AWS::AccountId}', Aws.ACCOUNT_ID);
}

const STACK_ARN_REASON = 'A stack ARN ends in the id CloudFormation gives each creation of the stack; the name is fixed, the id is not known before the stack exists.';

export interface GithubDeployAccessProps {
  /** config/account.json's `githubActions`. */
  readonly settings: GithubActionsSettings;
  /**
   * config/stages.json's settings of the environments' stages: a stage whose stacks span regions
   * (a backup copy, `regions`) lets its deploy role reach those stacks and their regions'
   * bootstrap too.
   * @default - every stage is one stack in its environment's region
   */
  readonly stages?: Readonly<Record<string, StageConfig>>;
}

/**
 * What GitHub Actions deploys with, and nothing else: the account's GitHub OIDC provider (or the
 * existing one), one role per GitHub environment that only that environment's jobs of this
 * repository can assume, and a read-only role for pull-request diffs. No access key exists.
 *
 * IAM is global while the account stack is deployed per region: every resource here carries a
 * CloudFormation condition, so it exists only where the stack runs in `iamRegion`, and each deploy
 * role only in its environment's account (the same template serves every account and region).
 *
 * The deploy roles may assume the CDK bootstrap roles (deploy, file publishing) of their stage's
 * region and make the operator CLI's calls for that stage only (docs/OPERATOR.md): the preflight's
 * reads, the stage stack's outputs, the smoke-user secret and its key through Secrets Manager,
 * admin sign-in of the smoke user in the stage's user pool and reading the stage's API key (both
 * found by the stage's `stack` tag). The diff role reads the stage stacks' templates and status.
 */
export class GithubDeployAccess extends Construct {
  /** Deploy roles by GitHub environment. */
  public readonly deployRoles: Readonly<Record<string, iam.Role>>;
  public readonly diffRole: iam.Role;
  /** The provider's ARN (declared here, or the account's existing one). */
  public readonly providerArn: string;

  constructor(scope: Construct, id: string, props: GithubDeployAccessProps) {
    super(scope, id);
    const s = props.settings;
    const environments = Object.entries(s.environments);
    const inIamRegion = Fn.conditionEquals(Aws.REGION, s.iamRegion);
    const accountIs = (account: string): ICfnConditionExpression => Fn.conditionEquals(Aws.ACCOUNT_ID, account);
    const accounts = [...new Set(environments.map(([, e]) => e.account))];
    const anyAccount = accounts.length === 1 ? accountIs(accounts[0]) : Fn.conditionOr(...accounts.map(accountIs));
    // Where the provider and the diff role exist: the IAM region of any account that hosts a stage.
    const here = new CfnCondition(this, 'InIamRegionOfAStageAccount', { expression: Fn.conditionAnd(inIamRegion, anyAccount) });

    if (s.oidcProvider === 'create') {
      const provider = new iam.OidcProviderNative(this, 'Provider', { url: `https://${GITHUB_OIDC_HOST}`, clientIds: [GITHUB_OIDC_AUDIENCE] });
      cfnOf(provider).cfnOptions.condition = here;
      this.providerArn = provider.oidcProviderArn;
    } else {
      // IAM names a provider by its URL: arn:<partition>:iam::<account>:oidc-provider/<host>.
      this.providerArn = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:oidc-provider/${GITHUB_OIDC_HOST}`;
    }
    const trust = (sub: string): iam.IPrincipal =>
      new iam.WebIdentityPrincipal(this.providerArn, {
        StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE, [`${GITHUB_OIDC_HOST}:sub`]: sub },
      });

    const deployRoles: Record<string, iam.Role> = {};
    const otherStacks = (environment: string) => (props.stages?.[environment] ? otherStacksOf(environment, props.stages[environment]) : []);
    for (const [environment, where] of environments) {
      const stack = stageStackName(environment);
      const region = where.region;
      const stageRegions = props.stages?.[environment]?.regions;
      if (stageRegions && stageRegions[0] !== region) {
        throw new ConfigError(`config/account.json: githubActions.environments.${environment}.region: must be the stage's primary region ${stageRegions[0]} (config/stages.json "regions"), where its outputs are read (got "${region}")`);
      }
      // The stage's other stacks (backup-copy vault, secondary regions) and their regions.
      const others = otherStacks(environment);
      const otherRegions = [...new Set(others.map((o) => o.region))].filter((r) => r !== region);
      const stackArn = (name: string, r: string) => `arn:${Aws.PARTITION}:cloudformation:${r}:${Aws.ACCOUNT_ID}:stack/${name}/*`;
      const arn = (service: string, resource: string, account: string = Aws.ACCOUNT_ID): string => `arn:${Aws.PARTITION}:${service}:${region}:${account}:${resource}`;
      const secretArns = arn('secretsmanager', `secret:${smokeUserSecretPrefix(stack)}*`);
      const taggedWithTheStage = { StringEquals: { [`aws:ResourceTag/${COST_ALLOCATION_TAG_KEY}`]: stack } };
      const role = new iam.Role(this, `Deploy${constructId(environment)}`, {
        roleName: deployRoleName(environment),
        description: `GitHub Actions, environment ${environment} of ${s.repository}: deploys and smoke-tests ${stack} in ${region}`,
        assumedBy: trust(environmentSubject(s, environment)),
        maxSessionDuration: Duration.hours(1),
        inlinePolicies: {
          deploy: new iam.PolicyDocument({
            statements: [
              new iam.PolicyStatement({
                sid: 'AssumeTheCdkBootstrapRoles',
                actions: ['sts:AssumeRole'],
                resources: [DefaultStackSynthesizer.DEFAULT_DEPLOY_ROLE_ARN, DefaultStackSynthesizer.DEFAULT_FILE_ASSET_PUBLISHING_ROLE_ARN].map((t) => bootstrapName(t, region)),
              }),
              new iam.PolicyStatement({
                sid: 'ReadTheBootstrapVersion',
                actions: ['ssm:GetParameter'],
                resources: [arn('ssm', `parameter${bootstrapName(DefaultStackSynthesizer.DEFAULT_BOOTSTRAP_STACK_VERSION_SSM_PARAMETER, region)}`)],
              }),
              new iam.PolicyStatement({
                sid: 'ReadApiGatewaysAccountSetting',
                actions: ['apigateway:GET'],
                resources: [arn('apigateway', '/account', '')],
              }),
              new iam.PolicyStatement({
                sid: 'ReadLambdasAccountSettings',
                actions: ['lambda:GetAccountSettings'],
                resources: ['*'],
              }),
              new iam.PolicyStatement({
                sid: 'ReadTheStageStack',
                actions: ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate'],
                resources: [arn('cloudformation', `stack/${stack}/*`)],
              }),
              new iam.PolicyStatement({
                sid: 'ReadAndWriteTheSmokeUserSecret',
                actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
                resources: [secretArns],
              }),
              ...(others.length > 0
                ? [
                    new iam.PolicyStatement({
                      sid: 'DeployTheStagesOtherRegions',
                      actions: ['sts:AssumeRole'],
                      resources: otherRegions.flatMap((r) => [DefaultStackSynthesizer.DEFAULT_DEPLOY_ROLE_ARN, DefaultStackSynthesizer.DEFAULT_FILE_ASSET_PUBLISHING_ROLE_ARN].map((t) => bootstrapName(t, r))),
                    }),
                    new iam.PolicyStatement({
                      sid: 'ReadTheOtherRegionsBootstrapAndApiGatewaySetting',
                      actions: ['ssm:GetParameter', 'apigateway:GET'],
                      resources: otherRegions.flatMap((r) => [
                        `arn:${Aws.PARTITION}:ssm:${r}:${Aws.ACCOUNT_ID}:parameter${bootstrapName(DefaultStackSynthesizer.DEFAULT_BOOTSTRAP_STACK_VERSION_SSM_PARAMETER, r)}`,
                        `arn:${Aws.PARTITION}:apigateway:${r}::/account`,
                      ]),
                    }),
                    new iam.PolicyStatement({
                      sid: 'ReadTheStagesOtherStacks',
                      actions: ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate'],
                      resources: others.map((o) => stackArn(o.name, o.region)),
                    }),
                  ]
                : []),
              new iam.PolicyStatement({
                sid: 'UseTheSecretsKeyThroughSecretsManagerForThatSecretOnly',
                actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
                resources: [arn('kms', 'key/*')],
                conditions: {
                  StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` },
                  StringLike: { 'kms:EncryptionContext:SecretARN': secretArns },
                },
              }),
              new iam.PolicyStatement({
                sid: 'KeepAndSignInTheSmokeUserInTheStagesUserPool',
                actions: [
                  'cognito-idp:AdminCreateUser',
                  'cognito-idp:AdminDeleteUser',
                  'cognito-idp:AdminGetUser',
                  'cognito-idp:AdminInitiateAuth',
                  'cognito-idp:AdminRespondToAuthChallenge',
                  'cognito-idp:AdminSetUserMFAPreference',
                  'cognito-idp:DescribeUserPool',
                ],
                resources: [arn('cognito-idp', 'userpool/*')],
                conditions: taggedWithTheStage,
              }),
              new iam.PolicyStatement({
                sid: 'ReadTheStagesApiKey',
                actions: ['apigateway:GET'],
                resources: [arn('apigateway', '/apikeys/*', '')],
                conditions: taggedWithTheStage,
              }),
            ],
          }),
        },
      });
      cfnOf(role).cfnOptions.condition = new CfnCondition(this, `Deploy${constructId(environment)}Here`, {
        expression: Fn.conditionAnd(inIamRegion, accountIs(where.account)),
      });
      acknowledgeNag(
        role,
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: 'lambda:GetAccountSettings (the deploy preflight reads the account\'s concurrency) has no resource-level permission; it is the only action on "*".',
        },
        {
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:${region}:<AWS::AccountId>:stack/${stack}/*]`,
          reason: STACK_ARN_REASON,
        },
        {
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${region}:<AWS::AccountId>:secret:${smokeUserSecretPrefix(stack)}*]`,
          reason: 'The smoke-user secret\'s name ends in its stack\'s creation id and Secrets Manager appends six random characters to every secret ARN; the prefix is the stage\'s.',
        },
        {
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${region}:<AWS::AccountId>:key/*]`,
          reason: 'The key id is made at creation; the statement allows the key only through Secrets Manager in this region (kms:ViaService) for the stage\'s smoke-user secret (kms:EncryptionContext:SecretARN).',
        },
        {
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cognito-idp:${region}:<AWS::AccountId>:userpool/*]`,
          reason: 'The user pool id is made at creation; the statement allows only pools tagged with the stage\'s stack name (aws:ResourceTag/stack), which the stage stack puts on its pool.',
        },
        {
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:${region}::/apikeys/*]`,
          reason: 'The API key id is made at creation; the statement allows only keys tagged with the stage\'s stack name (aws:ResourceTag/stack), which the stage stack puts on its keys.',
        },
        ...others.map((o) => ({ id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:${o.region}:<AWS::AccountId>:stack/${o.name}/*]`, reason: STACK_ARN_REASON })),
      );
      new CfnOutput(this, `DeployRoleArn${constructId(environment)}`, {
        value: role.roleArn,
        description: `GitHub environment ${environment}: the role its jobs assume`,
        condition: cfnOf(role).cfnOptions.condition,
      });
      deployRoles[environment] = role;
    }
    this.deployRoles = deployRoles;

    this.diffRole = new iam.Role(this, 'Diff', {
      roleName: DIFF_ROLE_NAME,
      description: `GitHub Actions, pull requests of ${s.repository}: reads the stage stacks to diff them`,
      assumedBy: trust(pullRequestSubject(s)),
      maxSessionDuration: Duration.hours(1),
      inlinePolicies: {
        diff: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'ReadTheStageStacks',
              actions: ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate'],
              resources: environments.flatMap(([environment, where]) => [
                `arn:${Aws.PARTITION}:cloudformation:${where.region}:${Aws.ACCOUNT_ID}:stack/${stageStackName(environment)}/*`,
                ...otherStacks(environment).map((o) => `arn:${Aws.PARTITION}:cloudformation:${o.region}:${Aws.ACCOUNT_ID}:stack/${o.name}/*`),
              ]),
            }),
          ],
        }),
      },
    });
    cfnOf(this.diffRole).cfnOptions.condition = here;
    acknowledgeNag(
      this.diffRole,
      ...environments.flatMap(([environment, where]) => [
        { id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:${where.region}:<AWS::AccountId>:stack/${stageStackName(environment)}/*]`, reason: STACK_ARN_REASON },
        ...otherStacks(environment).map((o) => ({ id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:${o.region}:<AWS::AccountId>:stack/${o.name}/*]`, reason: STACK_ARN_REASON })),
      ]),
    );
    new CfnOutput(this, 'DiffRoleArn', { value: this.diffRole.roleArn, description: 'Pull requests: the read-only role the diff jobs assume', condition: here });
  }
}
