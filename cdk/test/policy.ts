/**
 * Just enough of IAM policy evaluation to ask a synthesized template "may this service principal
 * do this, on behalf of this source?": intrinsic functions resolved against one fake account and
 * region, explicit Deny over Allow, the condition operators this project's policies use.
 */

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';
export const PARTITION = 'aws';

type Resources = Record<string, { Type: string; Properties?: Record<string, any> }>;

/** A resource's ARN as AWS would make it, from its type and logical id (enough for Ref/GetAtt). */
function fakeArn(type: string, logicalId: string): string {
  const service = type.split('::')[1].toLowerCase();
  return `arn:${PARTITION}:${service}:${REGION}:${ACCOUNT}:${logicalId}`;
}

/** Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Select and Fn::Split to strings. */
export function resolve(value: any, resources: Resources, stackName: string): any {
  if (Array.isArray(value)) return value.map((v) => resolve(v, resources, stackName));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [k] = keys;
    const v = value[k];
    if (k === 'Ref') {
      const pseudo: Record<string, string> = {
        'AWS::AccountId': ACCOUNT,
        'AWS::Region': REGION,
        'AWS::Partition': PARTITION,
        'AWS::URLSuffix': 'amazonaws.com',
        'AWS::StackName': stackName,
        'AWS::StackId': `arn:${PARTITION}:cloudformation:${REGION}:${ACCOUNT}:stack/${stackName}/3f1e2d3c-0000-4000-8000-000000000001`,
      };
      if (pseudo[v]) return pseudo[v];
      if (resources[v]) return fakeArn(resources[v].Type, v);
      throw new Error(`Ref to unknown ${v}`);
    }
    if (k === 'Fn::GetAtt') return fakeArn(resources[v[0]].Type, v[0]);
    if (k === 'Fn::Join') return (resolve(v[1], resources, stackName) as string[]).join(v[0]);
    if (k === 'Fn::Split') return String(resolve(v[1], resources, stackName)).split(v[0]);
    if (k === 'Fn::Select') return resolve(v[1], resources, stackName)[v[0]];
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, resources, stackName)]));
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM's wildcard match: `*` any run of characters, `?` one character. */
function like(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`, caseInsensitive ? 'i' : '');
  return re.test(value);
}

export interface Request {
  /** A service principal, e.g. cloudwatch.amazonaws.com. */
  readonly service: string;
  readonly action: string;
  readonly resource: string;
  /** Condition keys and their values, e.g. aws:SourceAccount. */
  readonly context: Readonly<Record<string, string>>;
}

function conditionsHold(condition: Record<string, Record<string, unknown>> | undefined, context: Request['context']): boolean {
  for (const [operator, entries] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(entries)) {
      const actual = context[key];
      const values = list(expected as string | string[]).map(String);
      if (actual === undefined) return false;
      const ok =
        operator === 'StringEquals' || operator === 'ArnEquals' ? values.includes(actual)
        : operator === 'StringLike' || operator === 'ArnLike' ? values.some((v) => like(v, actual))
        : operator === 'Bool' ? values.includes(actual)
        : (() => { throw new Error(`condition operator ${operator} is not evaluated here`); })();
      if (!ok) return false;
    }
  }
  return true;
}

function matches(statement: any, request: Request): boolean {
  const principal = statement.Principal;
  const principalOk =
    principal === '*' || list(principal?.AWS).includes('*') || list(principal?.Service).includes(request.service);
  return (
    principalOk &&
    list<string>(statement.Action).some((a) => like(a, request.action, true)) &&
    list<string>(statement.Resource).some((r) => like(r, request.resource)) &&
    conditionsHold(statement.Condition, request.context)
  );
}

/** Whether the (resolved) policy document allows the request: some Allow matches, no Deny does. */
export function allows(document: { Statement: any[] }, request: Request): boolean {
  const hits = document.Statement.filter((s) => matches(s, request));
  return hits.some((s) => s.Effect === 'Allow') && !hits.some((s) => s.Effect === 'Deny');
}
