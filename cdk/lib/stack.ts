import * as path from 'node:path';
import { CfnOutput, RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ApiFirewall } from './api-firewall';
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
import { RustFunction } from './rust-function';

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
}

/**
 * API Gateway (REST) → one Rust Lambda per route → DynamoDB, with Cognito, WAF, alarms,
 * a dashboard and a budget. Routes, functions and permissions come from api/openapi.json.
 * Nothing account- or region-wide: that is the account stack's (account-stack.ts).
 */
export class SecureServerlessBackendStack extends Stack {
  public readonly table: ItemsTable;
  public readonly identity: Identity;
  public readonly functions: Readonly<Record<string, RustFunction>>;
  public readonly api: ItemsApi;
  public readonly monitoring: Monitoring;
  public readonly operator: OperatorAccess;

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
    Tags.of(this).add(COST_ALLOCATION_TAG_KEY, this.stackName);

    const contract = loadContract(path.join(root, 'api', 'openapi.json'));
    const functionNames = contract.operations.map((op) => op.functionName);
    const zips = ensureArtifacts({
      artifactsDir: props.artifactsDir ?? defaultArtifactsDir(root, arch),
      functionNames,
      arch,
      ...(props.checkArtifactFreshness === false ? {} : { sources: LAMBDA_SOURCES.map((p) => path.join(root, p)) }),
      ...(props.buildMissingArtifacts ? { buildDir: root } : {}),
    });

    this.table = new ItemsTable(this, 'Items', {
      spec: loadTableSpec(path.join(root, 'api', 'table.json')),
      removalPolicy,
      encryption: c.tableEncryption,
    });
    if (c.tableEncryption === 'AWS_OWNED') {
      skipCheckov(this.table.table, 'CKV_AWS_119', 'Encrypted with an AWS owned key by the stage setting "tableEncryption" (config/stages.json); staging and prod use a customer managed key.');
    }

    this.identity = new Identity(this, 'Identity', { mfa: c.mfa, threatProtection: c.threatProtection, removalPolicy });
    this.operator = new OperatorAccess(this, 'Operator', { userPool: this.identity.userPool, removalPolicy });

    const functions: Record<string, RustFunction> = {};
    for (const op of contract.operations) {
      const fn = new RustFunction(this, constructId(op.functionName), {
        functionName: op.functionName,
        zipFile: zips[op.functionName],
        architecture: arch,
        table: this.table.table,
        dynamodbActions: op.dynamodbActions,
        memorySize: c.memoryMb,
        dynamodbWarmUp: c.dynamodbWarmUp,
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
      skipCheckov(fn.function, 'CKV_AWS_173', 'The environment holds only the table name and the warm-up switch, neither a secret; Lambda encrypts environment variables at rest with an AWS managed key.');
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
      userPool: this.identity.userPool,
      gatewayResponses: loadGatewayResponses(path.join(root, 'api', 'gateway-responses.json')),
      stageName,
      throttle: c.throttle,
      methodThrottles: c.methodThrottles,
      usagePlan: c.usagePlan,
      corsAllowOrigins: c.corsAllowOrigins,
      logRetention,
      removalPolicy,
    });

    new ApiFirewall(this, 'Firewall', {
      stage: this.api.stage,
      perUserLimitPer5Min: c.wafRateLimitPer5Min,
      logRetention,
      removalPolicy,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      api: this.api.api,
      stageName,
      functions: Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, fn.function])),
      table: this.table.table,
      tableOperations: [...new Set(contract.operations.flatMap((op) => op.dynamodbActions.map((a) => a.replace(/^dynamodb:/, ''))))],
      thresholds: c.alarms,
      budgetUsd: c.budgetUsd,
      costAllocationTag: { key: COST_ALLOCATION_TAG_KEY, value: this.stackName },
      ...(c.alarmEmail ? { alarmEmail: c.alarmEmail } : {}),
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url, description: 'Stage URL (the API is under /v1); pass it to scripts/smoke.sh' });
    new CfnOutput(this, 'TableName', { value: this.table.table.tableName });
    new CfnOutput(this, 'UserPoolId', { value: this.identity.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.identity.client.userPoolClientId });
    new CfnOutput(this, 'OperatorClientId', { value: this.operator.client.userPoolClientId, description: 'Admin password sign-in only: make token STAGE=...' });
    new CfnOutput(this, 'SmokeUserSecretArn', { value: this.operator.secret.ref, description: 'The smoke users, written by make smoke-user STAGE=...' });
    new CfnOutput(this, 'ApiKeyId', { value: this.api.apiKey.keyId, description: 'aws apigateway get-api-key --include-value --api-key <id>' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }
}

/** create-item → CreateItem: construct ids are part of the contract (renaming one replaces the resource). */
export function constructId(functionName: string): string {
  return functionName.replace(/(^|-)([a-z0-9])/g, (_m, _d: string, ch: string) => ch.toUpperCase());
}
