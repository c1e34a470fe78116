import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_SMOKE_USER_SECRET, smokeUserSecretPrefix } from '../lib/operator-access';
import { stageConfig, synthStage } from './helpers';

type Resource = { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

function ofType(template: Record<string, any>, type: string): Array<[string, Resource]> {
  return Object.entries(template.Resources as Record<string, Resource>).filter(([, r]) => r.Type === type);
}

for (const stage of ['dev', 'staging', 'prod']) {
  describe(`operator access in ${stage}`, () => {
    const { template, stack } = synthStage(stage);
    const t = template.toJSON();
    const clients = ofType(t, 'AWS::Cognito::UserPoolClient');
    const poolId = ofType(t, 'AWS::Cognito::UserPool')[0][0];
    const operatorClient = clients.find(([, c]) => c.Properties!.ClientName === 'operator');
    const callersClient = clients.find(([, c]) => c.Properties!.ClientName !== 'operator');

    it('has two app clients on the one pool: the callers\' and the operator\'s', () => {
      assert.equal(clients.length, 2);
      for (const [, c] of clients) assert.deepEqual(c.Properties!.UserPoolId, { Ref: poolId });
      assert.ok(operatorClient && callersClient);
    });

    it('the operator client allows admin password sign-in and nothing else: no SRP, no USER_PASSWORD_AUTH, no OAuth, no secret', () => {
      const p = operatorClient![1].Properties!;
      assert.deepEqual([...p.ExplicitAuthFlows].sort(), ['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']);
      assert.equal(p.AllowedOAuthFlowsUserPoolClient, false);
      for (const key of ['AllowedOAuthFlows', 'AllowedOAuthScopes', 'CallbackURLs', 'LogoutURLs']) assert.equal(p[key], undefined, `${key} unset`);
      assert.equal(p.GenerateSecret, false);
      assert.equal(p.PreventUserExistenceErrors, 'ENABLED');
      assert.equal(p.EnableTokenRevocation, true);
      // Refresh tokens live the shortest time Cognito allows (60 minutes).
      assert.equal(p.RefreshTokenValidity, 60);
      assert.equal(p.TokenValidityUnits.RefreshToken, 'minutes');
    });

    it('the callers\' client does not get admin password sign-in', () => {
      assert.ok(!callersClient![1].Properties!.ExplicitAuthFlows.includes('ALLOW_ADMIN_USER_PASSWORD_AUTH'));
    });

    const [secretId, secret] = ofType(t, 'AWS::SecretsManager::Secret')[0];
    const keys = ofType(t, 'AWS::KMS::Key');
    const [keyId, key] = keys.find(([id]) => id === secret.Properties!.KmsKeyId['Fn::GetAtt']?.[0])!;

    it('declares one smoke-user secret, encrypted with a rotated key of its own, starting empty', () => {
      assert.equal(ofType(t, 'AWS::SecretsManager::Secret').length, 1);
      assert.deepEqual(secret.Properties!.KmsKeyId, { 'Fn::GetAtt': [keyId, 'Arn'] });
      assert.equal(key.Properties!.EnableKeyRotation, true);
      assert.deepEqual(JSON.parse(secret.Properties!.SecretString), EMPTY_SMOKE_USER_SECRET);
      assert.equal(secret.Properties!.GenerateSecretString, undefined);
      // No other resource uses the key.
      const users = Object.entries(t.Resources as Record<string, Resource>).filter(([id]) => id !== keyId && JSON.stringify(t.Resources[id]).includes(`"${keyId}"`));
      assert.deepEqual(users.map(([id]) => id), [secretId]);
    });

    it('names the secret <stack>/smoke-user-<stack id UUID>, so a redeploy after a destroy never collides', () => {
      assert.deepEqual(secret.Properties!.Name, {
        'Fn::Join': ['', [smokeUserSecretPrefix(stack.stackName), { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }]],
      });
    });

    it('the key can be used only through Secrets Manager, in this region and account, for this secret; IAM cannot widen that', () => {
      const statements: any[] = key.Properties!.KeyPolicy.Statement;
      assert.equal(statements.length, 2);
      for (const s of statements) {
        assert.equal(s.Effect, 'Allow');
        assert.equal(JSON.stringify(s.Principal).includes(':root'), true, 'the account, i.e. principals IAM allows');
      }
      const use = statements.find((s) => s.Sid === 'UseOnlyThroughSecretsManagerForTheSmokeUserSecret');
      assert.deepEqual([...use.Action].sort(), ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*']);
      assert.deepEqual(use.Condition.StringEquals['kms:ViaService'], { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] });
      assert.deepEqual(use.Condition.StringEquals['kms:CallerAccount'], { Ref: 'AWS::AccountId' });
      const arn = JSON.stringify(use.Condition.StringLike['kms:EncryptionContext:SecretARN']);
      assert.ok(arn.includes(`:secret:${smokeUserSecretPrefix(stack.stackName)}*`), arn);
      // The administration statement grants no cryptographic use of the key.
      const admin = statements.find((s) => s.Sid === 'AccountAdministersTheKey');
      for (const action of admin.Action as string[]) {
        assert.doesNotMatch(action, /^kms:(\*|Decrypt|Encrypt|GenerateDataKey|ReEncrypt)/, `${action} is administration only`);
      }
      assert.ok(admin.Action.includes('kms:PutKeyPolicy') || admin.Action.includes('kms:Put*'), 'the account can still fix the policy');
    });

    it('keeps the secret and key as the stage keeps its pool', () => {
      const expected = stageConfig(stage).removalPolicy === 'DESTROY' ? 'Delete' : 'Retain';
      assert.equal(secret.DeletionPolicy, expected);
      assert.equal(key.DeletionPolicy, expected);
    });

    it('outputs OperatorClientId and SmokeUserSecretArn', () => {
      assert.deepEqual(t.Outputs.OperatorClientId.Value, { Ref: operatorClient![0] });
      assert.deepEqual(t.Outputs.SmokeUserSecretArn.Value, { Ref: secretId });
    });
  });
}
