import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { ConfigError, StageConfig } from './config';
import { COST_ALLOCATION_TAG_KEY, SecureServerlessBackendStack, SecureServerlessBackendStackProps, stageStackName } from './stack';
import { EncryptedVault } from './table-backup';

/** The support stack's output the primary's backup plan reads (Fn::GetStackOutput) for its copy action. */
export const BACKUP_COPY_VAULT_OUTPUT = 'BackupCopyVaultArn';

export interface RegionSupportStackProps extends StackProps {
  readonly stage: string;
  /** The stage's primary stack name: the cost allocation tag the stage's budget counts. */
  readonly primaryStackName: string;
  /** Make the key of the global table's replica in this region. */
  readonly replicaKey: boolean;
  /**
   * Make the vault the primary region's backups are copied to; lockMinRetention locks it in
   * governance mode.
   * @default - no vault
   */
  readonly copyVault?: { readonly lockMinRetention?: Duration };
}

/**
 * What a stage needs in another region before its primary stack can be deployed: the KMS key of
 * the table's replica there (a global table's replica keys must exist when the table is created
 * or updated) and the vault backups are copied to. Small, stateful and retained: the keys and the
 * vault outlive the stack.
 */
export class RegionSupportStack extends Stack {
  public readonly replicaKey?: kms.Key;
  public readonly copyVault?: EncryptedVault;

  constructor(scope: Construct, id: string, props: RegionSupportStackProps) {
    super(scope, id, props);
    Tags.of(this).add('project', 'secure-serverless-backend');
    Tags.of(this).add('stage', props.stage);
    Tags.of(this).add(COST_ALLOCATION_TAG_KEY, props.primaryStackName);
    if (props.replicaKey) {
      this.replicaKey = new kms.Key(this, 'ReplicaKey', {
        description: `Encrypts the ${props.stage} items table's replica in this region`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    if (props.copyVault) {
      this.copyVault = new EncryptedVault(this, 'BackupCopy', {
        stage: props.stage,
        description: `copies of the ${props.stage} items table's backups`,
        ...(props.copyVault.lockMinRetention ? { lockMinRetention: props.copyVault.lockMinRetention } : {}),
      });
      new CfnOutput(this, BACKUP_COPY_VAULT_OUTPUT, { value: this.copyVault.vault.backupVaultArn, description: 'The vault the primary region\'s backup plan copies to' });
    }
  }
}

/** What the stacks of a stage share: the stage stack's own props, without what buildStageStacks decides. */
export type StageStacksProps = Pick<
  SecureServerlessBackendStackProps,
  'stage' | 'config' | 'arch' | 'repoRoot' | 'artifactsDir' | 'buildMissingArtifacts' | 'checkArtifactFreshness'
>;

/**
 * The stacks of a stage besides its primary, with their regions, as buildStageStacks makes them:
 * what the GitHub deploy role of the stage must reach beyond the primary's region.
 */
export function otherStacksOf(stage: string, c: StageConfig): Array<{ readonly name: string; readonly region: string }> {
  const name = stageStackName(stage);
  const secondaryRegions = c.regions ? c.regions.slice(1) : [];
  const copyRegion = c.backup?.copy?.region;
  const supportRegions = [...new Set([...secondaryRegions, ...(copyRegion ? [copyRegion] : [])])];
  return [
    ...supportRegions.map((region) => ({ name: `${name}-support-${region}`, region })),
    ...secondaryRegions.map((region) => ({ name: `${name}-${region}`, region })),
  ];
}

/** Every stack of a stage, in deployment order, and the primary (stageStackName(stage)). */
export interface StageStacks {
  readonly primary: SecureServerlessBackendStack;
  readonly secondaries: readonly SecureServerlessBackendStack[];
  readonly support: readonly RegionSupportStack[];
  readonly stacks: readonly Stack[];
}

/**
 * The stacks of one stage in one app:
 * - a single-region stage without a backup copy: one environment-agnostic stack, as always;
 * - a backup copy to another region: the same environment-agnostic stage stack, plus a
 *   RegionSupportStack in the copy region holding the copy vault;
 * - `regions` [primary, ...secondaries]: a RegionSupportStack per secondary region (replica key,
 *   and the copy vault if it is the copy region), the primary stack (global table, user pool,
 *   backup, PRIMARY failover records) and one stack per secondary region (API, functions, WAF,
 *   alarms, SECONDARY failover records) named `<primary>-<region>`.
 * Cross-region values go through CloudFormation's Fn::GetStackOutput, resolved at deploy time from
 * the producing stack's outputs: the copy vault's ARN explicitly, and in a multi-region stage the
 * replica key ARNs, the user pool ARN and the table name through CDK's crossRegionReferences,
 * which this app's "@aws-cdk/core:defaultCrossStackReferences": "weak" (cdk.json) turns into
 * Fn::GetStackOutput instead of custom resources. `cdk deploy` of all stacks then works in
 * dependency order with no parameter to fill in.
 */
export function buildStageStacks(scope: Construct, props: StageStacksProps): StageStacks {
  const c = props.config;
  const stage = props.stage;
  const name = stageStackName(stage);
  const description = (what: string) => `secure-serverless-backend (${stage}): ${what}`;
  const copyRegion = c.backup?.copy?.region;
  if (c.regions === null && !copyRegion) {
    const primary = new SecureServerlessBackendStack(scope, name, { ...props, description: description('API Gateway REST -> Rust Lambda -> DynamoDB') });
    return { primary, secondaries: [], support: [], stacks: [primary] };
  }

  // A single-region stage stays environment-agnostic (deployed to the CLI's region, its template
  // as before); only a multi-region stage pins its stacks to their regions.
  const primaryRegion = c.regions ? c.regions[0] : undefined;
  if (copyRegion && copyRegion === primaryRegion) {
    throw new ConfigError(`config/stages.json: stages.${stage}.backup.copy.region: must differ from the primary region (got "${copyRegion}")`);
  }
  const secondaryRegions = c.regions ? c.regions.slice(1) : [];
  const supportRegions = [...new Set([...secondaryRegions, ...(copyRegion ? [copyRegion] : [])])];
  const support = new Map<string, RegionSupportStack>();
  for (const region of supportRegions) {
    const copy = c.backup?.copy && region === copyRegion ? c.backup.copy : undefined;
    const parts = [secondaryRegions.includes(region) ? 'the table replica key' : '', copy ? 'the backup copy vault' : ''].filter((p) => p);
    support.set(
      region,
      new RegionSupportStack(scope, `${name}-support-${region}`, {
        env: { region },
        ...(c.regions ? { crossRegionReferences: true } : {}),
        description: description(`${parts.join(' and ')} in ${region}`),
        stage,
        primaryStackName: name,
        replicaKey: secondaryRegions.includes(region),
        ...(copy ? { copyVault: c.backup?.lock ? { lockMinRetention: Duration.days(copy.retentionDays) } : {} } : {}),
      }),
    );
  }

  // The copy vault's ARN is read from the support stack's output by CloudFormation at deploy time
  // (Fn::GetStackOutput, cross-region): an environment-agnostic primary cannot hold a CDK
  // cross-region reference, and the vault's name is only known once its stack exists.
  const copyStack = copyRegion ? support.get(copyRegion) : undefined;
  const backupCopyVaultArn = copyStack && copyRegion ? Fn.getStackOutput(copyStack.stackName, BACKUP_COPY_VAULT_OUTPUT, copyRegion) : undefined;
  const primary = new SecureServerlessBackendStack(scope, name, {
    ...props,
    ...(primaryRegion ? { env: { region: primaryRegion }, crossRegionReferences: true } : {}),
    description: description(primaryRegion ? `the primary region ${primaryRegion}: global table, user pool, backups, API` : 'API Gateway REST -> Rust Lambda -> DynamoDB'),
    ...(backupCopyVaultArn ? { backupCopyVaultArn } : {}),
    ...(c.regions ? { replicas: secondaryRegions.map((region) => ({ region, keyArn: support.get(region)!.replicaKey!.keyArn })) } : {}),
  });
  for (const s of support.values()) primary.addStackDependency(s, 'the replica keys and the copy vault exist before the table and the backup plan');

  const secondaries = secondaryRegions.map((region) => {
    const secondary = new SecureServerlessBackendStack(scope, `${name}-${region}`, {
      ...props,
      env: { region },
      crossRegionReferences: true,
      description: description(`the secondary region ${region}: API and functions on the table's replica, trusting the primary's user pool`),
      secondaryOf: { primary, replicaKey: support.get(region)!.replicaKey! },
    });
    secondary.addStackDependency(primary, 'the replica, the user pool and the API key secret exist before the secondary API');
    return secondary;
  });
  return { primary, secondaries, support: [...support.values()], stacks: [...support.values(), primary, ...secondaries] };
}
