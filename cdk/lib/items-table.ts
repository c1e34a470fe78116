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
  readonly billingMode: 'PAY_PER_REQUEST';
}

export function loadTableSpec(file: string): TableSpec {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  for (const key of ['partitionKey', 'sortKey', 'timeToLiveAttribute'] as const) {
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
}

/** The single items table: on-demand, point-in-time recovery, TTL, keys from api/table.json. */
export class ItemsTable extends Construct {
  public readonly table: dynamodb.Table;
  public readonly key?: kms.Key;

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
