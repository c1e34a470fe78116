/**
 * High availability on the synthesized templates (docs/AVAILABILITY.md): the custom domain, the
 * backups, and prod-global's stacks per region with its global table, health checks and failover
 * records; and single-region stages left as they were.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Stack, Token } from 'aws-cdk-lib';
import { parseStageConfig } from '../lib/config';
import { DOMAIN_SECURITY_POLICY } from '../lib/custom-domain';
import { BACKUP_COPY_VAULT_OUTPUT, otherStacksOf } from '../lib/multi-region';
import { apiKeySecretName, stageStackName } from '../lib/stack';
import { CONTRACT, stageConfig, synthStage } from './helpers';

type Resource = { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; DependsOn?: string[] };
type Template = { Resources: Record<string, Resource>; Outputs?: Record<string, { Value: unknown }> };

function templateOf(stack: Stack): Template {
  const app = stack.node.root as unknown as { synth(): { getStackArtifact(id: string): { template: Template } } };
  return app.synth().getStackArtifact(stack.artifactId).template;
}
const ofType = (t: Template, type: string): Array<[string, Resource]> => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const one = (t: Template, type: string): [string, Resource] => {
  const found = ofType(t, type);
  assert.equal(found.length, 1, `one ${type}, found ${found.length}`);
  return found[0];
};
const TABLE_OPERATIONS = [...new Set(CONTRACT.operations.flatMap((op) => op.dynamodbActions.map((a) => a.replace(/^dynamodb:/, ''))))].sort();

describe('prod-global: one stack per region from one app', () => {
  const { stages } = synthStage('prod-global');
  const config = stageConfig('prod-global');
  const [primaryRegion, secondaryRegion] = config.regions!;
  const primary = templateOf(stages.primary);
  const secondary = templateOf(stages.secondaries[0]);
  const support = templateOf(stages.support[0]);

  it('has the primary named stageStackName(stage) in the first region, a secondary and a support stack in the second, in dependency order', () => {
    assert.deepEqual(config.regions, ['us-east-1', 'us-west-2']);
    assert.deepEqual(
      stages.stacks.map((s) => [s.stackName, s.region]),
      [
        [`${stageStackName('prod-global')}-support-${secondaryRegion}`, secondaryRegion],
        [stageStackName('prod-global'), primaryRegion],
        [`${stageStackName('prod-global')}-${secondaryRegion}`, secondaryRegion],
      ],
    );
    assert.ok(stages.primary.dependencies.includes(stages.support[0]), 'the primary waits for the replica key and the copy vault');
    assert.ok(stages.secondaries[0].dependencies.includes(stages.primary), 'the secondary waits for the table, the user pool and the API key secret');
    for (const s of stages.stacks) assert.ok(!Token.isUnresolved(s.region), `${s.stackName} is pinned to its region`);
  });

  it('makes the table a global table with a replica per region, each with its own region\'s customer managed key', () => {
    const [, table] = one(primary, 'AWS::DynamoDB::GlobalTable');
    assert.equal(ofType(primary, 'AWS::DynamoDB::Table').length, 0);
    const replicas = table.Properties!.Replicas as Array<Record<string, any>>;
    assert.deepEqual(replicas.map((r) => r.Region).sort(), [...config.regions!].sort());
    for (const r of replicas) {
      assert.equal(r.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, true, `${r.Region}: PITR`);
      assert.equal(r.DeletionProtectionEnabled, true, `${r.Region}: deletion protection`);
    }
    const home = replicas.find((r) => r.Region === primaryRegion)!;
    const keyId = home.SSESpecification.KMSMasterKeyId['Fn::GetAtt'][0];
    assert.equal(primary.Resources[keyId].Type, 'AWS::KMS::Key');
    assert.equal(primary.Resources[keyId].Properties!.EnableKeyRotation, true);
    const away = replicas.find((r) => r.Region === secondaryRegion)!;
    const ref = away.SSESpecification.KMSMasterKeyId['Fn::GetStackOutput'];
    assert.equal(ref.StackName, stages.support[0].stackName);
    assert.equal(ref.Region, secondaryRegion);
    const output = support.Outputs![ref.OutputName] as { Value: any };
    const replicaKey = support.Resources[output.Value['Fn::GetAtt'][0]];
    assert.equal(replicaKey.Type, 'AWS::KMS::Key');
    assert.equal(replicaKey.Properties!.EnableKeyRotation, true);
    assert.equal(replicaKey.DeletionPolicy, 'Retain');
    assert.deepEqual(table.Properties!.SSESpecification, { SSEEnabled: true, SSEType: 'KMS' });
    assert.equal(table.DeletionPolicy, 'Retain');
  });

  it('runs the secondary\'s functions on the replica, with the replica key, and owns no table, user pool or backup there', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable', 'AWS::Cognito::UserPool', 'AWS::Backup::BackupPlan', 'AWS::Budgets::Budget']) {
      assert.equal(ofType(secondary, type).length, 0, `no ${type} in the secondary`);
    }
    const fns = ofType(secondary, 'AWS::Lambda::Function');
    assert.equal(fns.length, CONTRACT.operations.length);
    for (const [id, fn] of fns) {
      const name = fn.Properties!.Environment.Variables.TABLE_NAME['Fn::GetStackOutput'];
      assert.equal(name.StackName, stages.primary.stackName, `${id}: the primary's table name`);
      assert.equal(name.Region, primaryRegion);
    }
    const policies = JSON.stringify(ofType(secondary, 'AWS::IAM::Policy').map(([, p]) => p.Properties!.PolicyDocument));
    assert.match(policies, new RegExp(`dynamodb\\.${secondaryRegion}\\.amazonaws\\.com`), 'KMS only through DynamoDB of the secondary region');
    assert.match(policies, new RegExp(`arn:[^"]*:dynamodb:${secondaryRegion}:`), 'the replica\'s ARN in the secondary region');
  });

  it('lets the secondary\'s authorizer trust the primary\'s user pool, on every method but CORS preflight, with an API key', () => {
    const [, authorizer] = one(secondary, 'AWS::ApiGateway::Authorizer');
    assert.equal(authorizer.Properties!.Type, 'COGNITO_USER_POOLS');
    const [arn] = authorizer.Properties!.ProviderARNs;
    assert.equal(arn['Fn::GetStackOutput'].StackName, stages.primary.stackName);
    assert.equal(arn['Fn::GetStackOutput'].Region, primaryRegion);
    for (const t of [primary, secondary]) {
      for (const [id, m] of ofType(t, 'AWS::ApiGateway::Method')) {
        if (m.Properties!.HttpMethod === 'OPTIONS') {
          assert.equal(m.Properties!.Integration.Type, 'MOCK', `${id}: preflight is a mock, reaching nothing`);
          continue;
        }
        assert.equal(m.Properties!.AuthorizationType, 'COGNITO_USER_POOLS', `${id}: authenticated`);
        assert.equal(m.Properties!.ApiKeyRequired, true, `${id}: API key`);
      }
    }
  });

  it('gives each client app\'s key in both regions the one value of its own secret, replicated to the secondary', () => {
    assert.equal(ofType(secondary, 'AWS::SecretsManager::Secret').length, 0, 'the secondary reads the replicas');
    const clients = Object.keys(config.clients);
    assert.ok(clients.length >= 2, 'prod-global configures several client apps');
    for (const t of [primary, secondary]) assert.equal(ofType(t, 'AWS::ApiGateway::ApiKey').length, clients.length, 'one key per client in each region');
    for (const client of clients) {
      const secrets = ofType(primary, 'AWS::SecretsManager::Secret').filter(([, s]) => s.Properties!.Name === apiKeySecretName('prod-global', client));
      assert.equal(secrets.length, 1, `${client}: one secret`);
      const [[secretId, secret]] = secrets;
      assert.deepEqual(secret.Properties!.ReplicaRegions, [{ Region: secondaryRegion }], client);
      const expected = `{{resolve:secretsmanager:${apiKeySecretName('prod-global', client)}:SecretString:value::}}`;
      for (const t of [primary, secondary]) {
        const keys = ofType(t, 'AWS::ApiGateway::ApiKey').filter(([, k]) => String(k.Properties!.Name).endsWith(`-${client}`));
        assert.equal(keys.length, 1, `${client}: one key in each region`);
        assert.equal(keys[0][1].Properties!.Value, expected, `${client}: its own secret's value`);
        if (t === primary) assert.ok((keys[0][1].DependsOn ?? []).includes(secretId), `${client}: the primary key waits for its secret`);
      }
    }
  });

  it('puts a custom domain in each region: DNS-validated certificate, TLS 1.3 strict, stage mapped at the root, execute-api off', () => {
    for (const [t, region] of [[primary, primaryRegion], [secondary, secondaryRegion]] as const) {
      const [certId, cert] = one(t, 'AWS::CertificateManager::Certificate');
      assert.equal(cert.Properties!.ValidationMethod, 'DNS', region);
      assert.deepEqual(cert.Properties!.DomainValidationOptions, [{ DomainName: config.domain!.name, HostedZoneId: config.domain!.hostedZoneId }]);
      const [domainId, domain] = one(t, 'AWS::ApiGateway::DomainName');
      assert.equal(domain.Properties!.DomainName, config.domain!.name);
      assert.equal(domain.Properties!.SecurityPolicy, 'SecurityPolicy_TLS13_1_3_2025_09');
      assert.equal(DOMAIN_SECURITY_POLICY, 'SecurityPolicy_TLS13_1_3_2025_09');
      assert.equal(domain.Properties!.EndpointAccessMode, 'STRICT');
      assert.deepEqual(domain.Properties!.EndpointConfiguration, { Types: ['REGIONAL'], IpAddressType: 'dualstack' });
      assert.deepEqual(domain.Properties!.RegionalCertificateArn, { Ref: certId });
      const [, mapping] = one(t, 'AWS::ApiGateway::BasePathMapping');
      assert.equal(mapping.Properties!.BasePath, undefined, 'no base path: https://<domain>/v1/items');
      assert.deepEqual(mapping.Properties!.DomainName, { Ref: domainId });
      const [stageId] = one(t, 'AWS::ApiGateway::Stage');
      assert.deepEqual(mapping.Properties!.Stage, { Ref: stageId });
      assert.equal(one(t, 'AWS::ApiGateway::RestApi')[1].Properties!.DisableExecuteApiEndpoint, true);
    }
    assert.equal(primary.Outputs!.ApiUrl.Value, `https://${config.domain!.name}/`);
  });

  it('answers DNS with the primary while its health check is healthy and with the secondary otherwise (A and AAAA)', () => {
    const records = (t: Template) => ofType(t, 'AWS::Route53::RecordSet').map(([, r]) => r.Properties!);
    const [primaryHealthId] = ofType(primary, 'AWS::Route53::HealthCheck').find(([, h]) => h.Properties!.HealthCheckConfig.Type === 'CALCULATED')!;
    for (const [t, role] of [[primary, 'PRIMARY'], [secondary, 'SECONDARY']] as const) {
      const rs = records(t);
      assert.deepEqual(rs.map((r) => r.Type).sort(), ['A', 'AAAA']);
      for (const r of rs) {
        assert.equal(r.Name, `${config.domain!.name}.`);
        assert.equal(r.HostedZoneId, config.domain!.hostedZoneId);
        assert.equal(r.Failover, role);
        assert.equal(r.AliasTarget.EvaluateTargetHealth, true);
        if (role === 'PRIMARY') assert.deepEqual(r.HealthCheckId, { Ref: primaryHealthId });
        else assert.equal(r.HealthCheckId, undefined, 'the secondary answers whenever the primary is unhealthy');
      }
    }
    assert.notEqual(records(primary)[0].SetIdentifier, records(secondary)[0].SetIdentifier);
    assert.equal(ofType(secondary, 'AWS::Route53::HealthCheck').length, 0);
  });

  it('bases the primary\'s health on alarms fed by real requests: the API\'s 5XX share and the table\'s system errors', () => {
    const checks = ofType(primary, 'AWS::Route53::HealthCheck');
    const calculated = checks.filter(([, h]) => h.Properties!.HealthCheckConfig.Type === 'CALCULATED');
    assert.equal(calculated.length, 1);
    const children = calculated[0][1].Properties!.HealthCheckConfig.ChildHealthChecks.map((c: any) => c.Ref);
    assert.equal(calculated[0][1].Properties!.HealthCheckConfig.HealthThreshold, children.length, 'healthy only while every child is');
    const metricChecks = checks.filter(([, h]) => h.Properties!.HealthCheckConfig.Type === 'CLOUDWATCH_METRIC');
    assert.deepEqual(metricChecks.map(([id]) => id).sort(), [...children].sort());
    const alarmsSeen: Array<{ metric: string; statistic: string; dims: Record<string, unknown> }> = [];
    for (const [id, check] of metricChecks) {
      const cfg = check.Properties!.HealthCheckConfig;
      assert.equal(cfg.InsufficientDataHealthStatus, 'LastKnownStatus', id);
      assert.equal(cfg.AlarmIdentifier.Region, primaryRegion, id);
      const alarm = primary.Resources[cfg.AlarmIdentifier.Name.Ref];
      assert.equal(alarm.Type, 'AWS::CloudWatch::Alarm');
      const p = alarm.Properties!;
      assert.equal(p.Metrics, undefined, `${id}: a single metric (Route 53 reads no metric math)`);
      assert.ok(['Average', 'Sum'].includes(p.Statistic), `${id}: a standard statistic`);
      assert.equal(p.TreatMissingData, 'notBreaching', `${id}: no traffic is no failure`);
      assert.equal(p.Period, 60);
      alarmsSeen.push({ metric: `${p.Namespace}/${p.MetricName}`, statistic: p.Statistic, dims: Object.fromEntries(p.Dimensions.map((d: any) => [d.Name, d.Value])) });
    }
    const api = alarmsSeen.filter((a) => a.metric === 'AWS/ApiGateway/5XXError');
    assert.equal(api.length, 1);
    assert.equal(api[0].statistic, 'Average', 'Average of 5XXError is the share of requests answered 5XX');
    assert.equal(api[0].dims.Stage, 'prod-global');
    const table = alarmsSeen.filter((a) => a.metric === 'AWS/DynamoDB/SystemErrors');
    assert.deepEqual(table.map((a) => a.dims.Operation).sort(), TABLE_OPERATIONS, 'one per operation the functions call');
  });

  it('backs up the global table in the primary region and copies to the other region', () => {
    const [, plan] = one(primary, 'AWS::Backup::BackupPlan');
    const [rule] = plan.Properties!.BackupPlan.BackupPlanRule;
    const copy = rule.CopyActions[0].DestinationBackupVaultArn['Fn::GetStackOutput'];
    assert.deepEqual(copy, { StackName: stages.support[0].stackName, Region: config.backup!.copy!.region, OutputName: BACKUP_COPY_VAULT_OUTPUT });
    const [, selection] = one(primary, 'AWS::Backup::BackupSelection');
    const [tableId] = one(primary, 'AWS::DynamoDB::GlobalTable');
    assert.deepEqual(selection.Properties!.BackupSelection.Resources, [{ 'Fn::GetAtt': [tableId, 'Arn'] }]);
  });
});

describe('backups (AWS Backup on top of point-in-time recovery)', () => {
  it('dev keeps point-in-time recovery only', () => {
    const t = templateOf(synthStage('dev').stack);
    for (const type of ['AWS::Backup::BackupPlan', 'AWS::Backup::BackupVault', 'AWS::Backup::BackupSelection']) assert.equal(ofType(t, type).length, 0, type);
    assert.equal(synthStage('dev').stages.stacks.length, 1);
  });

  for (const stage of ['staging', 'prod']) {
    const config = stageConfig(stage).backup!;
    it(`${stage}: a daily plan into a vault of its own (customer managed key, rotated), the table alone selected`, () => {
      const t = templateOf(synthStage(stage).stack);
      const [vaultId, vault] = one(t, 'AWS::Backup::BackupVault');
      assert.equal(vault.DeletionPolicy, 'Retain');
      const keyId = vault.Properties!.EncryptionKeyArn['Fn::GetAtt'][0];
      assert.equal(t.Resources[keyId].Type, 'AWS::KMS::Key');
      assert.equal(t.Resources[keyId].Properties!.EnableKeyRotation, true);
      // Unique per stack creation: a destroy + redeploy finds the retained vault under another name.
      assert.match(JSON.stringify(vault.Properties!.BackupVaultName), /AWS::StackId/);
      const [, plan] = one(t, 'AWS::Backup::BackupPlan');
      const rules = plan.Properties!.BackupPlan.BackupPlanRule;
      assert.equal(rules.length, 1);
      assert.equal(rules[0].ScheduleExpression, `cron(0 ${config.dailyHourUtc} * * ? *)`);
      assert.equal(rules[0].Lifecycle.DeleteAfterDays, config.retentionDays);
      assert.deepEqual(rules[0].TargetBackupVault, { 'Fn::GetAtt': [vaultId, 'BackupVaultName'] });
      const [, selection] = one(t, 'AWS::Backup::BackupSelection');
      const [tableId, table] = one(t, 'AWS::DynamoDB::Table');
      assert.deepEqual(selection.Properties!.BackupSelection.Resources, [{ 'Fn::GetAtt': [tableId, 'Arn'] }]);
      assert.equal(table.Properties!.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, true, 'PITR kept');
      const roleId = selection.Properties!.BackupSelection.IamRoleArn['Fn::GetAtt'][0];
      assert.deepEqual(t.Resources[roleId].Properties!.AssumeRolePolicyDocument.Statement[0].Principal, { Service: 'backup.amazonaws.com' });
      if (config.lock) {
        assert.deepEqual(vault.Properties!.LockConfiguration, { MinRetentionDays: config.retentionDays }, 'governance mode: no ChangeableForDays');
        assert.ok(vault.Properties!.LockConfiguration.MinRetentionDays <= rules[0].Lifecycle.DeleteAfterDays);
      } else {
        assert.equal(vault.Properties!.LockConfiguration, undefined);
      }
      if (config.copy) {
        assert.equal(rules[0].CopyActions[0].Lifecycle.DeleteAfterDays, config.copy.retentionDays);
      } else {
        assert.equal(rules[0].CopyActions, undefined);
      }
    });
  }

  it('prod: copies into a locked vault with its own key in a small stack of the copy region, which the stage stack waits for', () => {
    const { stages } = synthStage('prod');
    const copy = stageConfig('prod').backup!.copy!;
    assert.equal(stages.support.length, 1);
    const support = stages.support[0];
    assert.equal(support.region, copy.region);
    assert.ok(stages.primary.dependencies.includes(support));
    const t = templateOf(support);
    assert.deepEqual(Object.keys(t.Resources).map((id) => t.Resources[id].Type).filter((type) => type !== 'AWS::CDK::Metadata').sort(), ['AWS::Backup::BackupVault', 'AWS::KMS::Key']);
    const [vaultId, vault] = one(t, 'AWS::Backup::BackupVault');
    assert.deepEqual(vault.Properties!.LockConfiguration, { MinRetentionDays: copy.retentionDays });
    assert.match(JSON.stringify(vault.Properties!.BackupVaultName), /AWS::StackId/);
    assert.deepEqual(t.Outputs![BACKUP_COPY_VAULT_OUTPUT].Value, { 'Fn::GetAtt': [vaultId, 'BackupVaultArn'] });
    const key = t.Resources[vault.Properties!.EncryptionKeyArn['Fn::GetAtt'][0]];
    assert.equal(key.Properties!.EnableKeyRotation, true);
    const [, plan] = one(templateOf(stages.primary), 'AWS::Backup::BackupPlan');
    assert.deepEqual(plan.Properties!.BackupPlan.BackupPlanRule[0].CopyActions[0].DestinationBackupVaultArn, {
      'Fn::GetStackOutput': { StackName: support.stackName, Region: copy.region, OutputName: BACKUP_COPY_VAULT_OUTPUT },
    });
  });
});

describe('single-region stages stay as they were', () => {
  for (const stage of ['dev', 'staging', 'prod']) {
    it(`${stage}: an environment-agnostic stack with its AWS::DynamoDB::Table "ItemsTable…", no domain, no replicas, execute-api on`, () => {
      const { stack } = synthStage(stage);
      assert.ok(Token.isUnresolved(stack.region), 'deployed to the CLI\'s region, as before');
      const t = templateOf(stack);
      const [tableId] = one(t, 'AWS::DynamoDB::Table');
      assert.match(tableId, /^ItemsTable[0-9A-F]{8}$/, 'the logical id of construct Items/Table');
      assert.equal(tableId, `ItemsTable${tableId.slice(-8)}`);
      for (const type of ['AWS::DynamoDB::GlobalTable', 'AWS::ApiGateway::DomainName', 'AWS::Route53::RecordSet', 'AWS::Route53::HealthCheck', 'AWS::CertificateManager::Certificate', 'AWS::ApiGateway::BasePathMapping']) {
        assert.equal(ofType(t, type).length, 0, `${stage}: no ${type}`);
      }
      const [, api] = one(t, 'AWS::ApiGateway::RestApi');
      assert.equal(api.Properties!.DisableExecuteApiEndpoint, undefined);
      for (const [id, key] of ofType(t, 'AWS::ApiGateway::ApiKey')) assert.equal(key.Properties!.Value, undefined, `${stage} ${id}: API Gateway generates the key`);
      assert.match(JSON.stringify(t.Outputs!.ApiUrl.Value), /execute-api/);
    });
  }

  it('dev keeps the logical id its table had before this change', () => {
    // The id CDK derives from the path SecureServerlessBackend-dev/Items/Table: a different id would replace the table.
    const [tableId] = one(templateOf(synthStage('dev').stack), 'AWS::DynamoDB::Table');
    assert.equal(tableId, 'ItemsTableE2D1F4C3');
  });
});

describe('a destroy and a redeploy of every stack of a stage never collide with what it left', () => {
  for (const stage of ['prod', 'prod-global']) {
    for (const stack of synthStage(stage).stages.stacks) {
      it(`${stack.stackName}: every retained resource's name is unique per stack creation (or left to CloudFormation)`, () => {
        const t = templateOf(stack);
        for (const [id, r] of Object.entries(t.Resources) as Array<[string, Resource & { UpdateReplacePolicy?: string }]>) {
          if (r.DeletionPolicy !== 'Retain' && r.UpdateReplacePolicy !== 'Retain') continue;
          for (const [prop, value] of Object.entries(r.Properties ?? {})) {
            if (!/Name$/.test(prop) || value === undefined) continue;
            const refs = JSON.stringify(value);
            const unique = refs.includes('AWS::StackId') || Object.keys(t.Resources).some((other) => refs.includes(`"${other}"`));
            assert.ok(unique, `${id} (${r.Type}) is retained with the fixed ${prop} ${refs}`);
          }
        }
      });
    }
  }
});

describe('the stacks GitHub deploy roles are widened to', () => {
  for (const stage of ['dev', 'staging', 'prod', 'prod-global']) {
    it(`${stage}: otherStacksOf names exactly the stacks besides the primary that the app builds, with their regions`, () => {
      const { stages } = synthStage(stage);
      const built = stages.stacks.filter((s) => s !== stages.primary).map((s) => ({ name: s.stackName, region: s.region }));
      assert.deepEqual(
        [...otherStacksOf(stage, stageConfig(stage))].sort((a, b) => a.name.localeCompare(b.name)),
        built.sort((a, b) => a.name.localeCompare(b.name)),
      );
    });
  }
});

describe('stage settings for availability (config/stages.json)', () => {
  const base = () => JSON.parse(JSON.stringify(stageConfig('prod-global'))) as Record<string, any>;
  const parse = (raw: unknown) => () => parseStageConfig('x', raw);

  it('accepts every shipped stage, prod-global with two regions and a domain', () => {
    const c = stageConfig('prod-global');
    assert.deepEqual(c.regions, ['us-east-1', 'us-west-2']);
    assert.equal(c.domain!.name, 'api.example.com');
    assert.equal(stageConfig('dev').backup, null);
    assert.deepEqual(stageConfig('staging').backup, { dailyHourUtc: 3, retentionDays: 35, lock: false, copy: null });
    assert.deepEqual(stageConfig('prod').backup, { dailyHourUtc: 3, retentionDays: 90, lock: true, copy: { region: 'us-west-2', retentionDays: 90 } });
  });

  it('refuses several regions without a domain or without customer managed keys', () => {
    assert.throws(parse({ ...base(), domain: null }), /stages\.x\.domain: must be set when "regions"/);
    assert.throws(parse({ ...base(), tableEncryption: 'AWS_OWNED' }), /stages\.x\.tableEncryption: must be CUSTOMER_MANAGED when "regions" is set/);
    assert.throws(parse({ ...base(), regions: ['us-east-1'] }), /stages\.x\.regions: must be null or a list of at least two regions/);
    assert.throws(parse({ ...base(), regions: ['us-east-1', 'us-east-1'] }), /must not list a region twice/);
    assert.throws(parse({ ...base(), regions: ['us-east-1', 'Mars'] }), /each entry must be a region such as us-east-1 \(got "Mars"\)/);
  });

  it('refuses a domain outside its zone, a bad zone id, a bad hour and a bad copy region, naming the key', () => {
    assert.throws(parse({ ...base(), domain: { name: 'api.example.org', hostedZoneId: 'Z123', hostedZoneName: 'example.com' } }), /stages\.x\.domain\.name: must be inside the hosted zone example\.com/);
    assert.throws(parse({ ...base(), domain: { name: 'api.example.com', hostedZoneId: 'zone', hostedZoneName: 'example.com' } }), /stages\.x\.domain\.hostedZoneId/);
    assert.throws(parse({ ...base(), backup: { dailyHourUtc: 24, retentionDays: 7, lock: false, copy: null } }), /stages\.x\.backup\.dailyHourUtc: must be an integer from 0 to 23 \(got 24\)/);
    assert.throws(parse({ ...base(), backup: { dailyHourUtc: 1, retentionDays: 7, lock: 'yes', copy: null } }), /stages\.x\.backup\.lock: must be true or false/);
    assert.throws(parse({ ...base(), backup: { dailyHourUtc: 1, retentionDays: 7, lock: false, copy: { region: 'west', retentionDays: 7 } } }), /stages\.x\.backup\.copy\.region/);
  });
});
