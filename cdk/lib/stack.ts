import * as path from 'node:path';
import { CfnOutput, RemovalPolicy, SecretValue, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ApiFirewall } from './api-firewall';
import { CustomDomain } from './custom-domain';
import { Arch, defaultArtifactsDir, ensureArtifacts, LAMBDA_SOURCES } from './artifacts';
import { acknowledgeNag, skipCheckov } from './compliance';
import { requireAlarmSubscriber, StageConfig } from './config';
import { loadContract } from './contract';
import { loadGatewayResponses } from './gateway-responses';
import { Identity } from './identity';
import { ItemsApi } from './items-api';
import { ItemsTable, loadTableSpec } from './items-table';
import { Monitoring } from './monitoring';
import { OperatorAccess } from './operator-access';
import { FailoverHealth } from './failover-health';
import { RustFunction } from './rust-function';
import { TableBackup } from './table-backup';

/** The cost allocation tag (value: the stack's name) that the stage's budget filters on. */
export const COST_ALLOCATION_TAG_KEY = 'stack';

/** A stage's stack name: SecureServerlessBackend-<stage>. */
export function stageStackName(stage: string): string {
  return `SecureServerlessBackend-${stage}`;
}

export interface SecureServerlessBackendStackProps extends StackProps {
  /** dev, staging or prod: names the API stage and tags every resource. */
  readonly stage: string;
  /** The stage's settings from config/stages.json. */
  readonly config: StageConfig;
  /**
   * Architecture of the functions; the zips must hold binaries for it.
   * @default 'arm64'
   */
  readonly arch?: Arch;
  /**
   * Repository root: where api/, functions/ and Cargo.toml are read from.
   * @default - two levels above this file
   */
  readonly repoRoot?: string;
  /**
   * Directory holding <function>/bootstrap.zip (tests point it at fake zips).
   * @default <repoRoot>/target/lambda/<arch>
   */
  readonly artifactsDir?: string;
  /**
   * Run `make build ARCH=<arch>` when an artifact is missing or older than the Rust sources,
   * instead of failing with the command to run. Never on in tests.
   * @default false
   */
  readonly buildMissingArtifacts?: boolean;
  /**
   * Compare artifact times with functions/, Cargo.toml and Cargo.lock.
   * @default true
   */
  readonly checkArtifactFreshness?: boolean;
  /**
   * The ARN of the vault in config.backup.copy.region that every backup is copied to (a stack of
   * that region: RegionSupportStack). Required when the stage's backup has a copy.
   * @default - no copy
   */
  readonly backupCopyVaultArn?: string;
  /**
   * Multi-region stage, in the primary region: the other regions' replicas of the table, each with
   * its region's key ARN (RegionSupportStack).
   * @default - a single-region table
   */
  readonly replicas?: ReadonlyArray<{ readonly region: string; readonly keyArn: string }>;
  /**
   * Multi-region stage, in a secondary region: the primary stack (its user pool, table and API key
   * secret) and this region's replica key. The stack then holds the region's API, functions,
   * firewall, alarms and custom domain, and no table, user pool or backup of its own.
   * @default - not a secondary
   */
  readonly secondaryOf?: { readonly primary: SecureServerlessBackendStack; readonly replicaKey: kms.IKey };
}

/** The name of the secret holding a multi-region stage's API key value of one client app (replicated to every region). */
export function apiKeySecretName(stage: string, client: string): string {
  return `secure-serverless-backend/${stage}/api-key/${client}`;
}

/**
 * API Gateway (REST) → one Rust Lambda per route → DynamoDB, with Cognito, WAF, alarms,
 * a dashboard and a budget. Routes, functions and permissions come from api/openapi.json.
 * Nothing account- or region-wide: that is the account stack's (account-stack.ts).
 */
export class SecureServerlessBackendStack extends Stack {
  /** The items table in this stack's region (a secondary's is the global table's replica). */
  public readonly table: dynamodb.ITable;
  /** The table's construct (absent in a secondary). */
  public readonly itemsTable?: ItemsTable;
  /** The user pool the API trusts (a secondary trusts the primary's). */
  public readonly userPool: cognito.IUserPool;
  public readonly identity?: Identity;
  public readonly functions: Readonly<Record<string, RustFunction>>;
  public readonly api: ItemsApi;
  public readonly monitoring: Monitoring;
  public readonly operator?: OperatorAccess;
  public readonly backup?: TableBackup;
  public readonly domain?: CustomDomain;
  /** Multi-region primary: what decides whether Route 53 answers with this region. */
  public readonly health?: FailoverHealth;
  /** Multi-region primary: per client app, the API key value that client's key shares in every region. */
  public readonly apiKeySecrets?: Readonly<Record<string, secretsmanager.Secret>>;

  constructor(scope: Construct, id: string, props: SecureServerlessBackendStackProps) {
    super(scope, id, props);
    const c = props.config;
    requireAlarmSubscriber(props.stage, c);
    const root = props.repoRoot ?? path.resolve(__dirname, '..', '..');
    const arch = props.arch ?? 'arm64';
    const removalPolicy = c.removalPolicy === 'DESTROY' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const logRetention = c.logRetentionDays as logs.RetentionDays;
    Tags.of(this).add('project', 'secure-serverless-backend');
    Tags.of(this).add('stage', props.stage);
    // The stage's budget counts the resources carrying this tag (once it is activated in Billing).
    // A secondary region's stack carries the primary's name: one budget counts the whole stage.
    Tags.of(this).add(COST_ALLOCATION_TAG_KEY, props.secondaryOf ? props.secondaryOf.primary.stackName : this.stackName);

    const contract = loadContract(path.join(root, 'api', 'openapi.json'));
    const functionNames = contract.operations.map((op) => op.functionName);
    const zips = ensureArtifacts({
      artifactsDir: props.artifactsDir ?? defaultArtifactsDir(root, arch),
      functionNames,
      arch,
      ...(props.checkArtifactFreshness === false ? {} : { sources: LAMBDA_SOURCES.map((p) => path.join(root, p)) }),
      ...(props.buildMissingArtifacts ? { buildDir: root } : {}),
    });

    const tableSpec = loadTableSpec(path.join(root, 'api', 'table.json'));
    const secondary = props.secondaryOf;
    const regions = c.regions;
    if (regions !== null && !secondary && !props.replicas) throw new Error(`${id}: stage ${props.stage} lists regions ${regions.join(', ')} but the stack got no replicas (build it with buildStageStacks)`);
    if (secondary) {
      // The global table's replica in this region: same name, this region's key.
      this.table = dynamodb.Table.fromTableAttributes(this, 'ItemsReplica', { tableName: secondary.primary.table.tableName, encryptionKey: secondary.replicaKey });
      this.userPool = secondary.primary.userPool;
    } else {
      this.itemsTable = new ItemsTable(this, 'Items', {
        spec: tableSpec,
        removalPolicy,
        encryption: c.tableEncryption,
        ...(props.replicas ? { replicas: props.replicas } : {}),
      });
      this.table = this.itemsTable.table;
      if (c.tableEncryption === 'AWS_OWNED') {
        skipCheckov(this.itemsTable.table, 'CKV_AWS_119', 'Encrypted with an AWS owned key by the stage setting "tableEncryption" (config/stages.json); staging and prod use a customer managed key.');
      }
      this.identity = new Identity(this, 'Identity', { mfa: c.mfa, threatProtection: c.threatProtection, removalPolicy });
      this.userPool = this.identity.userPool;
      this.operator = new OperatorAccess(this, 'Operator', { userPool: this.identity.userPool, removalPolicy });
      if (c.backup) {
        this.backup = new TableBackup(this, 'Backup', {
          stage: props.stage,
          table: this.table,
          settings: c.backup,
          ...(props.backupCopyVaultArn ? { copyVault: backup.BackupVault.fromBackupVaultArn(this, 'BackupCopyVault', props.backupCopyVaultArn) } : {}),
        });
      }
    }

    // One API key value per client app for every region of a multi-region stage: generated once
    // into a secret per client that Secrets Manager replicates, and read by each region's key of
    // that client through a dynamic reference.
    let apiKeyValues: Record<string, string> | undefined;
    if (regions !== null) {
      const secrets: Record<string, secretsmanager.Secret> = {};
      apiKeyValues = {};
      for (const client of Object.keys(c.clients)) {
        const secretName = apiKeySecretName(props.stage, client);
        if (!secondary) {
          const secret = new secretsmanager.Secret(this, `ApiKeyValue-${client}`, {
            secretName,
            description: `The value of the ${props.stage} API key of the client app ${client} in every region (it sends it as X-Api-Key)`,
            generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'value', excludePunctuation: true, passwordLength: 40 },
            replicaRegions: regions.slice(1).map((region) => ({ region })),
            // The value is a client identifier, not data; it must not hold its name after a destroy.
            removalPolicy: RemovalPolicy.DESTROY,
          });
          acknowledgeNag(secret, {
            id: 'AwsSolutions-SMG4',
            reason: 'An API key identifies a client app and is not a credential of a user; rotating it means a new client entry and a release of that app (docs/STACK.md, "Client apps"), not a Lambda rotation.',
          });
          skipCheckov(secret, 'CKV_AWS_149', 'Encrypted with the AWS managed key of Secrets Manager, which every replica region has; a customer managed key would have to exist in every region first. The value identifies a client app, it is no user credential.');
          secrets[client] = secret;
        }
        apiKeyValues[client] = SecretValue.secretsManager(secretName, { jsonField: 'value' }).unsafeUnwrap();
      }
      if (!secondary) this.apiKeySecrets = secrets;
    }

    const functions: Record<string, RustFunction> = {};
    for (const op of contract.operations) {
      const fn = new RustFunction(this, constructId(op.functionName), {
        functionName: op.functionName,
        zipFile: zips[op.functionName],
        architecture: arch,
        table: this.table,
        dynamodbActions: op.dynamodbActions,
        userLimit: { ...c.userLimit, counterPartitionPrefix: tableSpec.userLimitPartitionPrefix },
        memorySize: c.memoryMb,
        dynamodbWarmUp: c.dynamodbWarmUp,
        corsAllowOrigins: c.corsAllowOrigins,
        ...(c.reservedConcurrency !== null ? { reservedConcurrentExecutions: c.reservedConcurrency } : {}),
        logRetention,
        removalPolicy,
      });
      acknowledgeNag(fn.role, {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions; they are the only actions on "*".',
      });
      acknowledgeNag(fn.function, {
        id: 'Serverless-LambdaDLQ',
        reason: 'API Gateway invokes the function synchronously and gets the error back; there is no asynchronous event to keep in a dead-letter queue.',
      });
      skipCheckov(fn.function, 'CKV_AWS_116', 'Invoked synchronously by API Gateway only; a dead-letter queue applies to asynchronous invocations.');
      skipCheckov(fn.function, 'CKV_AWS_117', 'The function reaches only DynamoDB, CloudWatch and X-Ray public endpoints over TLS with IAM; a VPC would add NAT/endpoint cost and cold-start time without narrowing access.');
      skipCheckov(fn.function, 'CKV_AWS_173', 'The environment holds only the table name, the warm-up switch, the per-user limit and the allowed CORS origins, none a secret; Lambda encrypts environment variables at rest with an AWS managed key.');
      if (c.reservedConcurrency === null) {
        skipCheckov(fn.function, 'CKV_AWS_115', 'No reserved concurrency in this stage by the stage setting "reservedConcurrency" (config/stages.json): new accounts have too little concurrency to reserve; staging and prod reserve it.');
      }
      functions[op.functionName] = fn;
    }
    this.functions = functions;

    const stageName = props.stage;
    this.api = new ItemsApi(this, 'Api', {
      contract,
      handlers: Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, fn.function])),
      userPool: this.userPool,
      gatewayResponses: loadGatewayResponses(path.join(root, 'api', 'gateway-responses.json')),
      stageName,
      throttle: c.throttle,
      methodThrottles: c.methodThrottles,
      clients: c.clients,
      corsAllowOrigins: c.corsAllowOrigins,
      logRetention,
      removalPolicy,
      ...(c.domain ? { disableExecuteApiEndpoint: true } : {}),
      ...(apiKeyValues ? { apiKeyValues } : {}),
    });

    // Each key's value is read from its client's secret when the key is created.
    for (const [client, secret] of Object.entries(this.apiKeySecrets ?? {})) this.api.clients[client].apiKey.node.addDependency(secret);

    new ApiFirewall(this, 'Firewall', {
      stage: this.api.stage,
      perTokenLimitPer5Min: c.wafRateLimitPer5Min,
      logRetention,
      removalPolicy,
    });

    // The DynamoDB operations the functions call, as CloudWatch names them (alarms, health).
    const tableOperations = [...new Set(contract.operations.flatMap((op) => op.dynamodbActions.map((a) => a.replace(/^dynamodb:/, ''))))];
    this.monitoring = new Monitoring(this, 'Monitoring', {
      api: this.api.api,
      stageName,
      functions: Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, fn.function])),
      table: this.table,
      tableOperations,
      thresholds: c.alarms,
      ...(secondary ? {} : { budgetUsd: c.budgetUsd }),
      costAllocationTag: { key: COST_ALLOCATION_TAG_KEY, value: secondary ? secondary.primary.stackName : this.stackName },
      ...(c.alarmEmail ? { alarmEmail: c.alarmEmail } : {}),
    });

    if (c.domain) {
      let failover: { role: route53.Failover; setIdentifier: string; healthCheck?: route53.IHealthCheck } | undefined;
      if (regions !== null) {
        if (!secondary) {
          this.health = new FailoverHealth(this, 'Health', {
            api: this.api.api,
            stageName,
            table: this.table,
            tableOperations,
            dynamoSystemErrorsPerMinute: c.alarms.dynamoSystemErrorsPerMinute,
          });
        }
        failover = {
          role: secondary ? route53.Failover.SECONDARY : route53.Failover.PRIMARY,
          setIdentifier: `${props.stage}-${this.region}`,
          ...(this.health ? { healthCheck: this.health.healthCheck } : {}),
        };
      }
      this.domain = new CustomDomain(this, 'Domain', { domain: c.domain, api: this.api.api, stage: this.api.stage, ...(failover ? { failover } : {}) });
    }

    new CfnOutput(this, 'ApiUrl', {
      value: this.domain ? this.domain.url : this.api.api.url,
      description: this.domain
        ? 'The custom domain (the API is under /v1; the execute-api endpoint is off); pass it to scripts/smoke.sh'
        : 'Stage URL (the API is under /v1); pass it to scripts/smoke.sh',
    });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    if (this.identity && this.operator) {
      new CfnOutput(this, 'UserPoolId', { value: this.identity.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: this.identity.client.userPoolClientId });
      new CfnOutput(this, 'OperatorClientId', { value: this.operator.client.userPoolClientId, description: 'Admin password sign-in only: make token STAGE=...' });
      new CfnOutput(this, 'SmokeUserSecretArn', { value: this.operator.secret.ref, description: 'The smoke users, written by make smoke-user STAGE=...' });
    }
    new CfnOutput(this, 'ApiKeyIds', {
      value: this.toJsonString(Object.fromEntries(Object.entries(this.api.clients).map(([client, access]) => [client, access.apiKey.keyId]))),
      description: '{"<client app>": "<API key id>"} in the stage\'s order; make token STAGE=... CLIENT=<client app> (default: the first)',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    if (this.backup) new CfnOutput(this, 'BackupVaultName', { value: this.backup.vault.vault.backupVaultName, description: 'Recovery points of the table: docs/AVAILABILITY.md, "Restore"' });
  }
}

/** create-item → CreateItem: construct ids are part of the contract (renaming one replaces the resource). */
export function constructId(functionName: string): string {
  return functionName.replace(/(^|-)([a-z0-9])/g, (_m, _d: string, ch: string) => ch.toUpperCase());
}
