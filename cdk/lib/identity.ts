import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { acknowledgeNag } from './compliance';

export interface IdentityProps {
  /**
   * @default 'REQUIRED'
   */
  readonly mfa?: 'OFF' | 'OPTIONAL' | 'REQUIRED';
  /**
   * Cognito threat protection (Plus feature plan) for standard sign-in.
   * @default 'ENFORCED'
   */
  readonly threatProtection?: 'OFF' | 'AUDIT' | 'ENFORCED';
  /**
   * RETAIN also turns on deletion protection.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The Cognito user pool whose ID tokens the API accepts, and the app client callers sign in with.
 * Users are created by an administrator (no self sign-up); passwords are strong; MFA uses TOTP.
 */
export class Identity extends Construct {
  public readonly userPool: cognito.UserPool;
  public readonly client: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: IdentityProps = {}) {
    super(scope, id);
    const mfa = props.mfa ?? 'REQUIRED';
    const threatProtection = props.threatProtection ?? 'ENFORCED';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa[mfa],
      ...(mfa !== 'OFF' ? { mfaSecondFactor: { otp: true, sms: false } } : {}),
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: {
        OFF: cognito.StandardThreatProtectionMode.NO_ENFORCEMENT,
        AUDIT: cognito.StandardThreatProtectionMode.AUDIT_ONLY,
        ENFORCED: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      }[threatProtection],
      deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy,
    });
    if (mfa !== 'REQUIRED') {
      acknowledgeNag(this.userPool, {
        id: 'AwsSolutions-COG2',
        reason: `MFA is ${mfa} in this stage by the stage setting "mfa" (config/stages.json); staging and prod require it.`,
      });
    }

    this.client = this.userPool.addClient('Client', {
      generateSecret: false,
      authFlows: { userSrp: true },
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });
  }
}
