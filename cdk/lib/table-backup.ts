import { Aws, Duration, Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledgeNag } from './compliance';
import { BackupSettings } from './config';

/**
 * A vault name unique to this stack's creation: `ssb-<stage>-<first 8 hex digits of the stack id>`.
 * AWS::Backup::BackupVault requires a name, and a retained vault (it keeps recovery points past a
 * stack's deletion) under a fixed name would make a destroy + redeploy fail on the name.
 */
export function uniqueVaultName(stage: string): string {
  const stackUuid = Fn.select(2, Fn.split('/', Aws.STACK_ID));
  return Fn.join('-', ['ssb', stage, Fn.select(0, Fn.split('-', stackUuid))]);
}

export interface EncryptedVaultProps {
  readonly stage: string;
  readonly description: string;
  /**
   * Vault lock in governance mode with this minimum retention (no ChangeableForDays, so it never
   * turns into compliance mode).
   * @default - no lock
   */
  readonly lockMinRetention?: Duration;
}

/** A backup vault with its own customer-managed key (rotation on); both outlive the stack. */
export class EncryptedVault extends Construct {
  public readonly key: kms.Key;
  public readonly vault: backup.BackupVault;

  constructor(scope: Construct, id: string, props: EncryptedVaultProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: `Encrypts the backup vault: ${props.description}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.vault = new backup.BackupVault(this, 'Vault', {
      backupVaultName: uniqueVaultName(props.stage),
      encryptionKey: this.key,
      // Recovery points must outlive a deleted stack: that is what they are for.
      removalPolicy: RemovalPolicy.RETAIN,
      ...(props.lockMinRetention ? { lockConfiguration: { minRetention: props.lockMinRetention } } : {}),
    });
  }
}

export interface TableBackupProps {
  readonly stage: string;
  readonly table: dynamodb.ITable;
  readonly settings: BackupSettings;
  /**
   * The vault in settings.copy.region that every recovery point is copied to (a stack of its own
   * there: BackupCopyStack). Required when settings.copy is set.
   */
  readonly copyVault?: backup.IBackupVault;
}

/**
 * AWS Backup of the items table, on top of point-in-time recovery: a daily backup into a vault of
 * its own (customer-managed key), a governance-mode vault lock when settings.lock, and a copy of
 * every recovery point to a vault in another region when settings.copy. The selection is the table
 * and nothing else.
 */
export class TableBackup extends Construct {
  public readonly vault: EncryptedVault;
  public readonly plan: backup.BackupPlan;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: TableBackupProps) {
    super(scope, id);
    const s = props.settings;
    if (s.copy && !props.copyVault) throw new Error(`${this.node.path}: backup.copy goes to ${s.copy.region} but no copy vault was given`);
    if (!s.copy && props.copyVault) throw new Error(`${this.node.path}: a copy vault was given but backup.copy is null`);
    if (s.copy && !Token.isUnresolved(Stack.of(this).region) && s.copy.region === Stack.of(this).region) throw new Error(`${this.node.path}: backup.copy.region ${s.copy.region} is the table's own region`);

    this.vault = new EncryptedVault(this, 'Primary', {
      stage: props.stage,
      description: `daily backups of the ${props.stage} items table`,
      ...(s.lock ? { lockMinRetention: Duration.days(s.retentionDays) } : {}),
    });

    this.plan = new backup.BackupPlan(this, 'Plan', {
      backupVault: this.vault.vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'Daily',
          scheduleExpression: events.Schedule.cron({ minute: '0', hour: String(s.dailyHourUtc) }),
          startWindow: Duration.hours(1),
          completionWindow: Duration.hours(8),
          deleteAfter: Duration.days(s.retentionDays),
          ...(s.copy && props.copyVault
            ? { copyActions: [{ destinationBackupVault: props.copyVault, deleteAfter: Duration.days(s.copy.retentionDays) }] }
            : {}),
        }),
      ],
    });

    // AWS Backup's own managed policies: the service role may only be assumed by Backup, and what
    // it backs up is the selection's (the table only); AWS keeps the action lists current as
    // Backup's DynamoDB support changes (advanced backups, copies, restores).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('backup.amazonaws.com'),
      description: `AWS Backup: backs up and restores the ${props.stage} items table`,
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSBackupServiceRolePolicyForBackup'),
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSBackupServiceRolePolicyForRestores'),
      ],
    });
    acknowledgeNag(this.role, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      reason: 'The AWS Backup service role: only backup.amazonaws.com assumes it, the plan selects the items table alone, and AWS keeps the action list current with Backup\'s DynamoDB features.',
    }, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores]',
      reason: 'Restores into a new table (docs/AVAILABILITY.md) run with this role; only backup.amazonaws.com assumes it and AWS keeps the restore action list current.',
    });

    this.plan.addSelection('Table', {
      resources: [backup.BackupResource.fromDynamoDbTable(props.table)],
      role: this.role,
      allowRestores: false,
    });
  }
}
