import { readFileSync } from 'node:fs';
import { ConfigError, fail, isEmail, object, positiveInt } from './config';

/** A monthly cost budget of the whole account, e-mailed at 80 % actual and 100 % forecast. */
export interface AccountBudgetSettings {
  readonly monthlyUsd: number;
  readonly emails: readonly string[];
}

/** config/account.json: the parts of the account stack, each switchable off. */
export interface AccountConfig {
  /** Declare API Gateway's CloudWatch role and set it in the region's API Gateway account setting. */
  readonly apiGatewayCloudWatchRole: boolean;
  /** null: no account-wide budget (each stage still has its own). */
  readonly budget: AccountBudgetSettings | null;
}

/** Checks config/account.json's content and returns it typed; throws one sentence per bad value. */
export function parseAccountConfig(raw: unknown): AccountConfig {
  const w = 'config/account.json';
  const c = object(w, raw);
  const known = new Set(['description', 'apiGatewayCloudWatchRole', 'budget']);
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
  return { apiGatewayCloudWatchRole: c.apiGatewayCloudWatchRole as boolean, budget };
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
