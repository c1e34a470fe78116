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
   * Cognito threat protection for standard sign-in. It exists only on the Plus feature plan, so
   * OFF puts the pool on Essentials and AUDIT or ENFORCED on Plus.
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
      ...(threatProtection === 'OFF'
        ? { featurePlan: cognito.FeaturePlan.ESSENTIALS }
        : {
            featurePlan: cognito.FeaturePlan.PLUS,
            standardThreatProtectionMode:
              threatProtection === 'AUDIT' ? cognito.StandardThreatProtectionMode.AUDIT_ONLY : cognito.StandardThreatProtectionMode.FULL_FUNCTION,
          }),
      deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy,
    });
    if (threatProtection === 'OFF') {
      acknowledgeNag(this.userPool, {
        id: 'AwsSolutions-COG8',
        reason: 'Threat protection is OFF in this stage by the stage setting "threatProtection" (config/stages.json), and it is the only Plus feature this pool would use, so the pool stays on Essentials; staging and prod use Plus with threat protection enforced.',
      });
    }
    if (mfa !== 'REQUIRED') {
      acknowledgeNag(this.userPool, {
        id: 'AwsSolutions-COG2',
        reason: `MFA is ${mfa} in this stage by the stage setting "mfa" (config/stages.json); staging and prod require it.`,
      });
    }

    // SRP sign-in only. No OAuth until the pool has a domain and the app real callback URLs:
    // without disableOAuth, CDK turns on the code and implicit grants with https://example.com.
    this.client = this.userPool.addClient('Client', {
      generateSecret: false,
      authFlows: { userSrp: true },
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });
  }
}
