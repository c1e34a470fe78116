import { Writable } from 'node:stream';
import { formatDifferences, fullDiff, ResourceDifference, ResourceImpact, TemplateDiff } from '@aws-cdk/cloudformation-diff';

/**
 * A stage's synthesized templates against the deployed ones, as `cdk diff` computes it
 * (@aws-cdk/cloudformation-diff, the library the CDK CLI's diff is built on, with CloudFormation's
 * resource specification for which property changes replace a resource), and the check a pull
 * request must pass: no resource that holds data is replaced or deleted unless the pull request
 * carries STATEFUL_CHANGE_LABEL. `make diff STAGE=…` runs it (cdk/tools/stage-diff.ts).
 */

/** The pull-request label that allows replacing or deleting a stateful resource. */
export const STATEFUL_CHANGE_LABEL = 'stateful-change-approved';

/** Resource types that hold data (or keys to it) that replacing or deleting them loses, and what. */
export const STATEFUL_TYPES: Readonly<Record<string, string>> = {
  'AWS::DynamoDB::Table': 'its items',
  'AWS::DynamoDB::GlobalTable': 'its items in every replica',
  'AWS::Cognito::UserPool': 'its users, their passwords and MFA',
  'AWS::KMS::Key': 'everything encrypted under it, once the key is deleted',
  'AWS::SecretsManager::Secret': 'its value (the smoke users\' credentials, or a client app\'s API key value)',
  'AWS::ApiGateway::ApiKey': 'its value, which a client app ships: the app gets 403 until a release with the new key is out',
  'AWS::Logs::LogGroup': 'the logs it holds',
  'AWS::S3::Bucket': 'its objects',
  'AWS::Backup::BackupVault': 'its recovery points',
};

/** What happens to a stateful resource, in words. */
const IMPACT_WORDS: Partial<Record<ResourceImpact, string>> = {
  [ResourceImpact.WILL_REPLACE]: 'replaced',
  [ResourceImpact.MAY_REPLACE]: 'may be replaced',
  [ResourceImpact.WILL_DESTROY]: 'deleted',
  [ResourceImpact.WILL_ORPHAN]: 'removed from the stack (kept in the account, no longer managed)',
};

export interface StatefulChange {
  readonly stack: string;
  readonly logicalId: string;
  /** The construct path from the template's aws:cdk:path metadata, when known. */
  readonly path?: string;
  readonly type: string;
  readonly impact: string;
  /** Properties whose change replaces the resource, or why else. */
  readonly because: readonly string[];
}

/** A CloudFormation template as JSON. */
export type TemplateJson = Record<string, unknown>;

export interface StackInput {
  readonly name: string;
  readonly region: string;
  /** The synthesized template. */
  readonly template: TemplateJson;
  /** The deployed template; null when the stack does not exist yet. */
  readonly deployed: TemplateJson | null;
}

export interface StackDiff {
  readonly name: string;
  readonly region: string;
  readonly deployed: boolean;
  readonly diff: TemplateDiff;
  /** `cdk diff`'s rendering, without colours. */
  readonly text: string;
  readonly statefulChanges: readonly StatefulChange[];
}

/** logical id → construct path, from the aws:cdk:path metadata CDK writes on every resource. */
function paths(...templates: Array<TemplateJson | null>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of templates) {
    for (const [id, r] of Object.entries((t?.Resources ?? {}) as Record<string, { Metadata?: Record<string, unknown> }>)) {
      const p = r.Metadata?.['aws:cdk:path'];
      if (typeof p === 'string') out[id] = p;
    }
  }
  return out;
}

/** Why a resource difference is a stateful change; empty when it is not one. */
export function statefulChange(stack: string, logicalId: string, d: ResourceDifference, path?: string): StatefulChange | undefined {
  const type = d.oldResourceType;
  if (type === undefined || !(type in STATEFUL_TYPES)) return undefined;
  const impact = IMPACT_WORDS[d.changeImpact];
  if (impact === undefined) return undefined;
  const because: string[] = [];
  if (d.resourceTypeChanged && d.newResourceType !== undefined) because.push(`its type becomes ${d.newResourceType}`);
  else if (d.isRemoval) because.push('it is no longer in the template (a removed or renamed construct changes the logical id)');
  for (const [property, p] of Object.entries(d.propertyUpdates)) {
    if (p.changeImpact === ResourceImpact.WILL_REPLACE || p.changeImpact === ResourceImpact.MAY_REPLACE) because.push(`${property} changes`);
  }
  because.push(`it loses ${STATEFUL_TYPES[type]}`);
  return { stack, logicalId, ...(path ? { path } : {}), type, impact, because };
}

/** Strips terminal colour codes (the formatter colours its output when it thinks it writes to a terminal). */
function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/** `cdk diff`'s text for one template diff. */
export function formatDiff(diff: TemplateDiff, logicalToPath: Record<string, string>): string {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  formatDifferences(sink, diff, logicalToPath);
  return plain(chunks.join(''));
}

/** Diffs one stack; a stack that is not deployed yet diffs against an empty template. */
export function diffStack(input: StackInput): StackDiff {
  const diff = fullDiff(input.deployed ?? {}, input.template);
  const logicalToPath = paths(input.template, input.deployed);
  const statefulChanges: StatefulChange[] = [];
  diff.resources.forEachDifference((logicalId, d) => {
    const change = statefulChange(input.name, logicalId, d, logicalToPath[logicalId]);
    if (change) statefulChanges.push(change);
  });
  return {
    name: input.name,
    region: input.region,
    deployed: input.deployed !== null,
    diff,
    text: diff.isEmpty ? 'There were no differences\n' : formatDiff(diff, logicalToPath),
    statefulChanges,
  };
}

/** The pull request's label names from PR_LABELS (a JSON array; CI sets it from the event); none when unset. */
export function parseLabels(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  let labels: unknown;
  try {
    labels = JSON.parse(raw);
  } catch {
    labels = undefined;
  }
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) throw new Error(`PR_LABELS must be a JSON array of label names, got ${JSON.stringify(raw)}.`);
  return labels;
}

export interface Verdict {
  readonly ok: boolean;
  /** One sentence for the log and the report. */
  readonly sentence: string;
}

/** Whether the pull request may go on: no stateful change, or the label that allows them. */
export function verdict(stage: string, diffs: readonly StackDiff[], labels: readonly string[]): Verdict {
  const changes = diffs.flatMap((d) => d.statefulChanges);
  if (changes.length === 0) return { ok: true, sentence: `No stateful resource of ${stage} would be replaced or deleted.` };
  const n = changes.length === 1 ? '1 stateful resource' : `${changes.length} stateful resources`;
  if (labels.includes(STATEFUL_CHANGE_LABEL)) {
    return { ok: true, sentence: `${n} of ${stage} would be replaced or deleted; the pull request carries the label ${STATEFUL_CHANGE_LABEL}, so this is allowed.` };
  }
  return {
    ok: false,
    sentence: `${n} of ${stage} would be replaced or deleted (listed below): if that is intended, add the label ${STATEFUL_CHANGE_LABEL} to the pull request; otherwise keep the construct ids and the properties that replace them.`,
  };
}

/** GitHub refuses comments over 65,536 characters; the diff text is cut to leave room for the rest. */
const MAX_DIFF_TEXT = 50_000;

export interface ReportInput {
  readonly stage: string;
  readonly account: string;
  readonly diffs: readonly StackDiff[];
  readonly verdict: Verdict;
}

/** The pull-request comment (and job summary) for one stage, in Markdown. */
export function renderReport(r: ReportInput): string {
  const lines: string[] = [];
  const status = r.verdict.ok ? (r.diffs.some((d) => d.statefulChanges.length > 0) ? '⚠️' : '✅') : '❌';
  lines.push(`### ${status} \`cdk diff\` of ${r.stage} against account ${r.account}`, '', r.verdict.sentence, '');
  const changes = r.diffs.flatMap((d) => d.statefulChanges);
  if (changes.length > 0) {
    lines.push('| Stack | Resource | Type | Would be | Because |', '|---|---|---|---|---|');
    for (const c of changes) lines.push(`| ${c.stack} | \`${c.path ?? c.logicalId}\` | ${c.type} | ${c.impact} | ${c.because.join('; ')} |`);
    lines.push('');
  }
  for (const d of r.diffs) {
    const where = `${d.name} in ${d.region}`;
    const summary = d.deployed
      ? `${where}: ${d.diff.differenceCount} difference${d.diff.differenceCount === 1 ? '' : 's'}${d.diff.permissionsBroadened ? ', IAM permissions broadened' : ''}`
      : `${where}: not deployed yet, every resource is new`;
    const text = d.text.length > MAX_DIFF_TEXT ? `${d.text.slice(0, MAX_DIFF_TEXT)}\n… cut at ${MAX_DIFF_TEXT} characters: the job's log has the whole diff.\n` : d.text;
    lines.push(`<details><summary>${summary}</summary>`, '', '```', text.trimEnd().replaceAll('```', "'''"), '```', '', '</details>', '');
  }
  return lines.join('\n');
}
