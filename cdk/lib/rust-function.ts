import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { Arch } from './artifacts';
import { LOG_GROUP_KMS_SKIP, skipCheckov } from './compliance';

/**
 * The functions' timeout. The Rust code sizes its DynamoDB budget to give up well inside it
 * (`FUNCTION_TIMEOUT` in functions/core/src/config.rs; cdk/test/rust-agreement.test.ts checks they agree).
 */
export const DEFAULT_TIMEOUT = Duration.seconds(10);

export interface RustFunctionProps {
  /** The function's name in the contract (x-function) and the crate name. */
  readonly functionName: string;
  /** Path of the cargo-lambda zip holding `bootstrap`. */
  readonly zipFile: string;
  readonly architecture: Arch;
  /** The table the function works on (TABLE_NAME). */
  readonly table: dynamodb.ITable;
  /**
   * Whether the function warms its DynamoDB connection during init (DYNAMODB_WARM_UP).
   * @default true
   */
  readonly dynamodbWarmUp?: boolean;
  /** The browser origins whose requests get CORS headers (CORS_ALLOW_ORIGINS, comma-separated). */
  readonly corsAllowOrigins: readonly string[];
  /** The only DynamoDB actions the function may take, on the table's ARN. */
  readonly dynamodbActions: readonly string[];
  /**
   * The per-user limit (USER_LIMIT_REQUESTS, USER_LIMIT_WINDOW_SECONDS) and the partition key
   * prefix of its counters: the role may also UpdateItem on the table where every partition key
   * it touches starts with that prefix (dynamodb:LeadingKeys), and nowhere else.
   */
  readonly userLimit: { readonly requests: number; readonly windowSeconds: number; readonly counterPartitionPrefix: string };
  /**
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * @default DEFAULT_TIMEOUT
   */
  readonly timeout?: Duration;
  /**
   * @default - unreserved
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Applied to the log group.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * @default lambda.ApplicationLogLevel.INFO
   */
  readonly applicationLogLevel?: lambda.ApplicationLogLevel;
}

/**
 * One route's Rust Lambda function with everything it owns: a role that can only take its route's
 * DynamoDB actions on the table, write to its own log group and send X-Ray traces; that log group
 * with a retention; JSON logs; active tracing.
 */
export class RustFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RustFunctionProps) {
    super(scope, id);
    const timeout = props.timeout ?? DEFAULT_TIMEOUT;
    if (timeout.toSeconds() < 1 || timeout.toSeconds() > 28) {
      throw new Error(`${props.functionName}: timeout must be 1 to 28 s to answer inside API Gateway's 29 s, got ${timeout.toSeconds()} s`);
    }
    if (props.dynamodbActions.length === 0 || props.dynamodbActions.some((a) => !/^dynamodb:[A-Z][A-Za-z]+$/.test(a))) {
      throw new Error(`${props.functionName}: dynamodbActions must be explicit "dynamodb:Action" names, got ${JSON.stringify(props.dynamodbActions)}`);
    }

    const { requests, windowSeconds, counterPartitionPrefix } = props.userLimit;
    if (![requests, windowSeconds].every((n) => Number.isInteger(n) && n >= 1)) {
      throw new Error(`${props.functionName}: userLimit must be whole numbers of at least 1, got ${JSON.stringify(props.userLimit)}`);
    }
    if (!/^[A-Z][A-Z-]*#$/.test(counterPartitionPrefix)) {
      throw new Error(`${props.functionName}: the counter partition prefix must read like LIMIT#, got ${JSON.stringify(counterPartitionPrefix)}`);
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    skipCheckov(this.logGroup, 'CKV_AWS_158', LOG_GROUP_KMS_SKIP);

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.functionName}: ${props.dynamodbActions.join(', ')} on the items table, its own log group, X-Ray`,
    });
    this.logGroup.grantWrite(this.role);
    props.table.grant(this.role, ...props.dynamodbActions);
    // The per-user limit's counter: one conditional UpdateItem per request, only on items whose
    // partition key starts with the counter prefix (docs/STACK.md, assumptions).
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'UserLimitCounter',
        actions: ['dynamodb:UpdateItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${counterPartitionPrefix}*`] } },
      }),
    );
    const key = props.table.encryptionKey;
    if (key) {
      // DynamoDB calls KMS on the caller's behalf; allow it only through DynamoDB. Every role
      // writes (its per-user limit counter at least), so every role may also encrypt.
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }

    this.function = new lambda.Function(this, 'Function', {
      description: `${props.functionName} (Rust, ${props.architecture})`,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(props.zipFile),
      architecture: props.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      memorySize: props.memorySize ?? 256,
      timeout,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.applicationLogLevel ?? lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      logGroup: this.logGroup,
      environment: {
        TABLE_NAME: props.table.tableName,
        DYNAMODB_WARM_UP: String(props.dynamodbWarmUp ?? true),
        USER_LIMIT_REQUESTS: String(requests),
        USER_LIMIT_WINDOW_SECONDS: String(windowSeconds),
        CORS_ALLOW_ORIGINS: props.corsAllowOrigins.join(','),
      },
    });
  }
}
