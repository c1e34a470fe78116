import { readFileSync } from 'node:fs';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** api/table.json: the key schema every consumer of the table shares. */
export interface TableSpec {
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly timeToLiveAttribute: string;
  /** The partition key prefix of the per-user limit's counters (`LIMIT#<sub>`). */
  readonly userLimitPartitionPrefix: string;
  readonly billingMode: 'PAY_PER_REQUEST';
}

export function loadTableSpec(file: string): TableSpec {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  for (const key of ['partitionKey', 'sortKey', 'timeToLiveAttribute', 'userLimitPartitionPrefix'] as const) {
    if (typeof raw[key] !== 'string' || raw[key] === '') throw new Error(`${file}: ${key} must be a non-empty string, got ${JSON.stringify(raw[key])}`);
  }
  if (raw.billingMode !== 'PAY_PER_REQUEST') throw new Error(`${file}: billingMode must be PAY_PER_REQUEST, got ${JSON.stringify(raw.billingMode)}`);
  return raw as unknown as TableSpec;
}

export interface ItemsTableProps {
  readonly spec: TableSpec;
  /**
   * RETAIN also turns on deletion protection.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * CUSTOMER_MANAGED creates a KMS key with rotation.
   * @default 'AWS_OWNED'
   */
  readonly encryption?: 'AWS_OWNED' | 'CUSTOMER_MANAGED';
  /**
   * Replicas of a global table, each with its region's customer managed key (made before this
   * table, in a stack of that region). Requires CUSTOMER_MANAGED. The table is then a TableV2
   * (AWS::DynamoDB::GlobalTable) under the construct id "GlobalTable": a single-region stage
   * keeps its AWS::DynamoDB::Table "Table", since changing either would replace the table.
   * @default - no replicas: a single-region AWS::DynamoDB::Table
   */
  readonly replicas?: ReadonlyArray<{ readonly region: string; readonly keyArn: string }>;
}

/** The single items table: on-demand, point-in-time recovery, TTL, keys from api/table.json. */
export class ItemsTable extends Construct {
  /** The table (in a multi-region stage, the primary region's replica of the global table). */
  public readonly table: dynamodb.ITable;
  public readonly key?: kms.Key;
  /** The global table, when there are replicas. */
  public readonly globalTable?: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: ItemsTableProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const encryption = props.encryption ?? 'AWS_OWNED';
    if (encryption === 'CUSTOMER_MANAGED') {
      this.key = new kms.Key(this, 'Key', {
        description: 'Encrypts the items table',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    if (props.replicas && props.replicas.length > 0) {
      if (!this.key) throw new Error(`${this.node.path}: replicas need CUSTOMER_MANAGED encryption (each replica has its region's key)`);
      this.globalTable = new dynamodb.TableV2(this, 'GlobalTable', {
        partitionKey: { name: props.spec.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: props.spec.sortKey, type: dynamodb.AttributeType.STRING },
        timeToLiveAttribute: props.spec.timeToLiveAttribute,
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
        removalPolicy,
        encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.key, Object.fromEntries(props.replicas.map((r) => [r.region, r.keyArn]))),
        replicas: props.replicas.map((r) => ({ region: r.region })),
      });
      this.table = this.globalTable;
      return;
    }
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: props.spec.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: props.spec.sortKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: props.spec.timeToLiveAttribute,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy,
      ...(this.key
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: this.key }
        : { encryption: dynamodb.TableEncryption.DEFAULT }),
    });
  }
}
