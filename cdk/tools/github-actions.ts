// What the workflows read from config/account.json before they assume a role, as GitHub step
// outputs (appended to $GITHUB_OUTPUT when set, printed otherwise):
//   node --import tsx cdk/tools/github-actions.ts plan                       (make ci-plan)
//     configured=true|false, environments=["staging","prod"]
//   node --import tsx cdk/tools/github-actions.ts role ENVIRONMENT deploy|diff   (make ci-role)
//     role-arn=arn:aws:iam::…:role/…, region=…, account=…
// From config/account.json; ACCOUNT_CONFIG=FILE reads another (tests).
import { appendFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadAccountConfig } from '../lib/account-config';
import { ciPlan, ciRole } from '../lib/github-deploy-access';

function output(values: Record<string, string>): void {
  const lines = Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join('');
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, lines);
  process.stdout.write(lines);
}

const root = path.resolve(__dirname, '..', '..');
const [command, environment, purpose] = process.argv.slice(2);
try {
  const config = loadAccountConfig(path.resolve(root, process.env.ACCOUNT_CONFIG ?? path.join('config', 'account.json')));
  if (command === 'plan') {
    const plan = ciPlan(config);
    output({ configured: String(plan.configured), environments: JSON.stringify(plan.environments) });
  } else if (command === 'role' && environment && (purpose === 'deploy' || purpose === 'diff')) {
    const role = ciRole(config, environment, purpose);
    output({ 'role-arn': role.roleArn, region: role.region, account: role.account });
  } else {
    process.stderr.write('usage: github-actions.ts plan | role ENVIRONMENT deploy|diff\n');
    process.exit(2);
  }
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
