import { CfnResource, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * The two ways this stack records a deliberate exception, each on the narrowest construct:
 * cdk-nag rules are acknowledged through CDK's Validations (cdk-nag 3 reads them from there), and
 * checkov checks are skipped in the CloudFormation resource's Metadata, which checkov reads.
 */

/** The checkov skip reason every log group shares (CKV_AWS_158, KMS encryption of log groups). */
export const LOG_GROUP_KMS_SKIP = 'CloudWatch Logs encrypts every log group at rest by default; these logs hold no request bodies, tokens or API keys by design, so a customer managed key would add cost and key-policy coupling without protecting more.';

/**
 * Context key: `-c nagAcknowledgements=false` records no acknowledgement, so cdk-nag reports every
 * finding, acknowledged or not (a reviewer's view; the tests compare the two).
 */
export const NAG_ACKNOWLEDGEMENTS_CONTEXT = 'nagAcknowledgements';

/** Acknowledges cdk-nag rules (e.g. "AwsSolutions-IAM5[Resource::*]") on one construct and its children. */
export function acknowledgeNag(scope: IConstruct, ...rules: ReadonlyArray<{ readonly id: string; readonly reason: string }>): void {
  for (const r of rules) {
    if (r.reason.trim().length < 20) throw new Error(`acknowledgement of ${r.id} on ${scope.node.path} needs a real reason, got ${JSON.stringify(r.reason)}`);
  }
  if (String(scope.node.tryGetContext(NAG_ACKNOWLEDGEMENTS_CONTEXT)) === 'false') return;
  Validations.of(scope).acknowledge(...rules);
}

/** The CloudFormation resource behind an L2 construct (or the construct itself when it is one). */
export function cfnOf(scope: IConstruct): CfnResource {
  if (CfnResource.isCfnResource(scope)) return scope;
  const child = scope.node.defaultChild;
  if (!child || !CfnResource.isCfnResource(child)) throw new Error(`${scope.node.path} has no CloudFormation resource as its default child`);
  return child;
}

/** Writes `checkov: skip: [{id, comment}]` into the resource's Metadata, merging with earlier skips. */
export function skipCheckov(scope: IConstruct, id: string, comment: string): void {
  if (!/^CKV2?_AWS_\d+$/.test(id)) throw new Error(`not a checkov AWS check id: ${JSON.stringify(id)}`);
  if (comment.trim().length < 20) throw new Error(`checkov skip ${id} on ${scope.node.path} needs a real reason, got ${JSON.stringify(comment)}`);
  const resource = cfnOf(scope);
  const existing = (resource.getMetadata('checkov') as { skip?: Array<{ id: string; comment: string }> } | undefined)?.skip ?? [];
  resource.addMetadata('checkov', { skip: [...existing.filter((s) => s.id !== id), { id, comment }] });
}
