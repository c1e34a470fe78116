import { readFileSync } from 'node:fs';
import { ConfigError, fail, isEmail, object, oneOf, positiveInt, STAGE_NAMES } from './config';

/** A monthly cost budget of the whole account, e-mailed at 80 % actual and 100 % forecast. */
export interface AccountBudgetSettings {
  readonly monthlyUsd: number;
  readonly emails: readonly string[];
}

/** Where one GitHub environment deploys: its stage (the environment's name) lives in this account and region. */
export interface GithubEnvironmentSettings {
  /** The 12-digit AWS account that hosts the stage. */
  readonly account: string;
  /** The region the stage is deployed to (CI's AWS_REGION). */
  readonly region: string;
}

/** The numeric ids GitHub puts in the immutable form of the OIDC `sub` claim. */
export interface GithubSubjectIds {
  readonly ownerId: number;
  readonly repositoryId: number;
}

/**
 * Deploy access for GitHub Actions: the OIDC provider, one deploy role per GitHub environment
 * and a read-only role for pull-request diffs (cdk/lib/github-deploy-access.ts).
 */
export interface GithubActionsSettings {
  /** OWNER/REPO exactly as GitHub spells it (the `sub` claim is compared case-sensitively). */
  readonly repository: string;
  /**
   * null: the repository's `sub` claims use names only (repo:OWNER/REPO:…). The ids: they use
   * GitHub's immutable form (repo:OWNER@OWNER_ID/REPO@REPO_ID:…), the default for repositories
   * created from 15 July 2026 on (every new fork) and for older ones that opted in.
   */
  readonly immutableSubject: GithubSubjectIds | null;
  /** create: declare the account's GitHub OIDC provider; existing: the account has one already. */
  readonly oidcProvider: 'create' | 'existing';
  /** IAM is global: the provider and roles exist only in the account stack of this region. */
  readonly iamRegion: string;
  /** GitHub environment (= stage name) → where that stage is deployed. */
  readonly environments: Readonly<Record<string, GithubEnvironmentSettings>>;
}

/** config/account.json: the parts of the account stack, each switchable off. */
export interface AccountConfig {
  /** Declare API Gateway's CloudWatch role and set it in the region's API Gateway account setting. */
  readonly apiGatewayCloudWatchRole: boolean;
  /** null: no account-wide budget (each stage still has its own). */
  readonly budget: AccountBudgetSettings | null;
  /** null: no deploy access for GitHub Actions. */
  readonly githubActions: GithubActionsSettings | null;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
/** GitHub's rules: an owner is 1–39 letters, digits or inner hyphens; a repository name letters, digits, '.', '_', '-'. */
const GITHUB_OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const GITHUB_REPOSITORY_NAME = /^[A-Za-z0-9._-]{1,100}$/;

function githubActions(raw: unknown): GithubActionsSettings {
  const w = 'config/account.json: githubActions';
  const g = object(w, raw);
  const known = ['repository', 'immutableSubject', 'oidcProvider', 'iamRegion', 'environments'];
  for (const key of Object.keys(g)) if (!known.includes(key)) fail(w, `has no setting "${key}" (known: ${known.join(', ')})`, g[key]);
  const repository = g.repository;
  const [owner, name, ...rest] = typeof repository === 'string' ? repository.split('/') : [];
  if (rest.length > 0 || !owner || !name || !GITHUB_OWNER.test(owner) || !GITHUB_REPOSITORY_NAME.test(name) || name === '.' || name === '..') {
    fail(`${w}.repository`, 'must be OWNER/REPO as GitHub spells it', repository);
  }
  let immutableSubject: GithubSubjectIds | null = null;
  if (g.immutableSubject !== null) {
    const shape = 'must be null (the sub claim names the repository) or {"ownerId": N, "repositoryId": N} (its immutable form)';
    if (typeof g.immutableSubject !== 'object' || Array.isArray(g.immutableSubject)) fail(`${w}.immutableSubject`, shape, g.immutableSubject);
    const ids = g.immutableSubject as Record<string, unknown>;
    for (const key of Object.keys(ids)) if (key !== 'ownerId' && key !== 'repositoryId') fail(`${w}.immutableSubject`, shape, ids);
    immutableSubject = {
      ownerId: positiveInt(`${w}.immutableSubject.ownerId`, ids.ownerId),
      repositoryId: positiveInt(`${w}.immutableSubject.repositoryId`, ids.repositoryId),
    };
  }
  const iamRegion = g.iamRegion;
  if (typeof iamRegion !== 'string' || !REGION.test(iamRegion)) fail(`${w}.iamRegion`, 'must be a region such as eu-west-1', iamRegion);
  const envs = object(`${w}.environments`, g.environments);
  if (Object.keys(envs).length === 0) fail(`${w}.environments`, 'must name at least one GitHub environment', envs);
  const environments: Record<string, GithubEnvironmentSettings> = {};
  for (const [env, value] of Object.entries(envs)) {
    oneOf(`${w}.environments: the environment`, env, STAGE_NAMES);
    const e = object(`${w}.environments.${env}`, value);
    for (const key of Object.keys(e)) if (key !== 'account' && key !== 'region') fail(`${w}.environments.${env}`, `has no setting "${key}" (known: account, region)`, e[key]);
    if (typeof e.account !== 'string' || !/^\d{12}$/.test(e.account)) fail(`${w}.environments.${env}.account`, 'must be a 12-digit AWS account id in quotes', e.account);
    if (typeof e.region !== 'string' || !REGION.test(e.region)) fail(`${w}.environments.${env}.region`, 'must be a region such as eu-west-1', e.region);
    environments[env] = { account: e.account, region: e.region };
  }
  const accounts = new Set(Object.values(environments).map((e) => e.account));
  // One condition per account is an Fn::Or of at most 10 (see github-deploy-access.ts).
  if (accounts.size > 10) fail(`${w}.environments`, 'may span at most 10 accounts', [...accounts]);
  return {
    repository: repository as string,
    immutableSubject,
    oidcProvider: oneOf(`${w}.oidcProvider`, g.oidcProvider, ['create', 'existing'] as const),
    iamRegion,
    environments,
  };
}

/** Checks config/account.json's content and returns it typed; throws one sentence per bad value. */
export function parseAccountConfig(raw: unknown): AccountConfig {
  const w = 'config/account.json';
  const c = object(w, raw);
  const known = new Set(['description', 'apiGatewayCloudWatchRole', 'budget', 'githubActions']);
  for (const key of Object.keys(c)) {
    if (!known.has(key)) fail(w, `has no setting "${key}" (known: ${[...known].filter((k) => k !== 'description').join(', ')})`, c[key]);
  }
  if (typeof c.apiGatewayCloudWatchRole !== 'boolean') fail(`${w}: apiGatewayCloudWatchRole`, 'must be true or false', c.apiGatewayCloudWatchRole);
  let budget: AccountBudgetSettings | null = null;
  if (c.budget !== null && c.budget !== undefined) {
    const b = object(`${w}: budget`, c.budget);
    const emails = b.emails;
    if (!Array.isArray(emails) || emails.length === 0 || emails.length > 10) fail(`${w}: budget.emails`, 'must list 1 to 10 e-mail addresses', emails);
    for (const e of emails) if (!isEmail(e)) fail(`${w}: budget.emails`, 'each entry must be an e-mail address', e);
    budget = { monthlyUsd: positiveInt(`${w}: budget.monthlyUsd`, b.monthlyUsd), emails: emails as string[] };
  }
  const github = c.githubActions === null || c.githubActions === undefined ? null : githubActions(c.githubActions);
  return { apiGatewayCloudWatchRole: c.apiGatewayCloudWatchRole as boolean, budget, githubActions: github };
}

export function loadAccountConfig(file: string): AccountConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${file} could not be read as JSON: ${(error as Error).message}`);
  }
  return parseAccountConfig(raw);
}
