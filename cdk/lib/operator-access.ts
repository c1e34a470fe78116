import { Aws, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeNag } from './compliance';

/** What the smoke-user secret holds before `make smoke-user` writes it: no user, nothing secret. */
export const EMPTY_SMOKE_USER_SECRET = { users: {} } as const;

/** The secret's name before its per-creation suffix: `<stack name>/smoke-user-`. IAM grants (CI roles) match `<prefix>*`. */
export function smokeUserSecretPrefix(stackName: string): string {
  return `${stackName}/smoke-user-`;
}

export interface OperatorAccessProps {
  /** The stage's user pool: the operator client signs its smoke users in. */
  readonly userPool: cognito.IUserPool;
  /**
   * RETAIN keeps the key and the secret when the stack is deleted (as the pool is kept).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * What the operator CLI (tools/operator) needs in a stage, and only it:
 * - an app client that allows admin password sign-in and nothing else: no SRP, no
 *   USER_PASSWORD_AUTH, no OAuth. Only an IAM principal allowed `cognito-idp:AdminInitiateAuth`
 *   on this pool can start a sign-in with it;
 * - a Secrets Manager secret for the stage's smoke users (password and TOTP seed, written by
 *   `make smoke-user`), encrypted with a key of its own whose policy lets it be used only through
 *   Secrets Manager, in this region, for this secret, by principals of this account that IAM
 *   allows. Reading it takes both `secretsmanager:GetSecretValue` on the secret and `kms:Decrypt`
 *   on the key in the reader's own policy: administrators and the CI roles that are granted them.
 */
export class OperatorAccess extends Construct {
  public readonly client: cognito.UserPoolClient;
  public readonly key: kms.Key;
  public readonly secret: secretsmanager.CfnSecret;

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const stack = Stack.of(this);

    this.client = new cognito.UserPoolClient(this, 'Client', {
      userPool: props.userPool,
      userPoolClientName: 'operator',
      // ALLOW_ADMIN_USER_PASSWORD_AUTH (+ ALLOW_REFRESH_TOKEN_AUTH, which Cognito always adds).
      authFlows: { adminUserPassword: true },
      disableOAuth: true,
      // No secret: the admin flow is already gated by IAM (the Admin* APIs are SigV4-signed), and a
      // secret would be one more credential for the CLI to fetch without restricting anything more.
      generateSecret: false,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      // The shortest Cognito allows: the CLI never uses the refresh token.
      refreshTokenValidity: Duration.minutes(60),
    });

    // The secret's name is unique per stack creation (the stack id's UUID), so a retained secret
    // never collides with the next deploy after a destroy, and its prefix is known to IAM policies.
    const prefix = smokeUserSecretPrefix(stack.stackName);
    const secretName = Fn.join('', [prefix, Fn.select(2, Fn.split('/', stack.stackId))]);
    const secretArnPattern = `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${prefix}*`;
    const account = new iam.AccountRootPrincipal();

    this.key = new kms.Key(this, 'Key', {
      description: `${stack.stackName}: encrypts the smoke-user secret only`,
      enableKeyRotation: true,
      removalPolicy,
      // Replaces CDK's default policy (which lets IAM grant any use of the key) with two statements.
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'AccountAdministersTheKey',
            principals: [account],
            actions: [
              'kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*',
              'kms:Disable*', 'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource',
              'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:RotateKeyOnDemand',
            ],
            resources: ['*'],
          }),
          new iam.PolicyStatement({
            sid: 'UseOnlyThroughSecretsManagerForTheSmokeUserSecret',
            principals: [account],
            actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
            resources: ['*'],
            conditions: {
              StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com`, 'kms:CallerAccount': Aws.ACCOUNT_ID },
              StringLike: { 'kms:EncryptionContext:SecretARN': secretArnPattern },
            },
          }),
        ],
      }),
    });

    // The L1 resource: the L2 Secret would add its own key-policy statement letting any secret of
    // the region use this key through Secrets Manager (and create grants on it).
    this.secret = new secretsmanager.CfnSecret(this, 'SmokeUserSecret', {
      name: secretName,
      description: `${stack.stackName}: the smoke users' passwords and TOTP seeds, written by make smoke-user`,
      kmsKeyId: this.key.keyArn,
      // Not a secret: the empty document the CLI starts from. CloudFormation never rewrites the
      // value while this property stays the same, so the CLI's writes survive redeploys.
      secretString: JSON.stringify(EMPTY_SMOKE_USER_SECRET),
    });
    this.secret.applyRemovalPolicy(removalPolicy);
    acknowledgeNag(this.secret, {
      id: 'AwsSolutions-SMG4',
      reason: 'The value is a Cognito smoke user\'s password and TOTP seed that only the operator CLI writes; `make smoke-user STAGE=... ROTATE=1` replaces the user, its password and its seed together. A rotation Lambda would have to repeat the MFA setup the CLI does.',
    });
  }
}
