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

/** DynamoDB actions that only read; any other action also needs the table key to encrypt. */
const READ_ACTIONS = new Set(['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable']);

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
    const key = props.table.encryptionKey;
    if (key) {
      // DynamoDB calls KMS on the caller's behalf; allow it only through DynamoDB.
      const writes = props.dynamodbActions.some((a) => !READ_ACTIONS.has(a));
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:DescribeKey', ...(writes ? ['kms:Encrypt', 'kms:GenerateDataKey'] : [])],
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
        CORS_ALLOW_ORIGINS: props.corsAllowOrigins.join(','),
      },
    });
  }
}
