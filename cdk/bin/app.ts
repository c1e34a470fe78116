#!/usr/bin/env node
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { loadAccountConfig } from '../lib/account-config';
import { ACCOUNT_STACK_NAME, AccountStack } from '../lib/account-stack';
import { ArtifactError, parseArch } from '../lib/artifacts';
import { ConfigError, loadStageConfig, withAlarmEmail } from '../lib/config';
import { buildStageStacks } from '../lib/multi-region';

// Context: -c stage=dev|staging|prod|prod-global (default dev), -c arch=arm64|x86_64 (default arm64),
// -c artifactsDir=DIR (default target/lambda/<arch>), -c build=false to fail instead of running
// make build, -c alarmEmail=ADDR (the stage's alarm subscriber), -c stack=account (the account
// stack, from config/account.json, instead of a stage), -c nagAcknowledgements=false (show every
// cdk-nag finding, acknowledged or not).
const app = new App();
const root = path.resolve(__dirname, '..', '..');
const stage = String(app.node.tryGetContext('stage') ?? 'dev');
const stack = app.node.tryGetContext('stack') as string | undefined;
const artifactsDir = app.node.tryGetContext('artifactsDir') as string | undefined;
const build = String(app.node.tryGetContext('build') ?? 'true') !== 'false';

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }), new ServerlessChecks(app, { verbose: true }));

try {
  if (stack === 'account') {
    const config = loadAccountConfig(path.resolve(root, String(app.node.tryGetContext('accountConfig') ?? path.join('config', 'account.json'))));
    new AccountStack(app, ACCOUNT_STACK_NAME, {
      description: 'secure-serverless-backend (account): what every stage of this account and region shares',
      config,
      // Each GitHub environment's stage settings: a stage spanning regions widens its deploy role.
      stages: Object.fromEntries(Object.keys(config.githubActions?.environments ?? {}).map((env) => [env, loadStageConfig(path.join(root, 'config', 'stages.json'), env)])),
    });
  } else if (stack !== undefined && stack !== 'stage') {
    throw new ConfigError(`unknown stack ${JSON.stringify(stack)}: use -c stack=account for the account stack, or leave it out for a stage`);
  } else {
    // One stack, or for a stage that spans regions (config "regions", or a backup copy) every
    // stack of it in dependency order (cdk/lib/multi-region.ts).
    buildStageStacks(app, {
      stage,
      config: withAlarmEmail(loadStageConfig(path.join(root, 'config', 'stages.json'), stage), app.node.tryGetContext('alarmEmail')),
      arch: parseArch(app.node.tryGetContext('arch')),
      repoRoot: root,
      ...(artifactsDir ? { artifactsDir: path.resolve(root, artifactsDir) } : {}),
      buildMissingArtifacts: build,
    });
  }
} catch (error) {
  // Configuration and artifact problems are the user's to fix: show the message, not a stack trace.
  if (error instanceof ArtifactError || error instanceof ConfigError) {
    process.stderr.write(`\n${error.message}\n\n`);
    process.exit(1);
  }
  throw error;
}
