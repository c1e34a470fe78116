#!/usr/bin/env node
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ArtifactError, parseArch } from '../lib/artifacts';
import { ConfigError, loadStageConfig } from '../lib/config';
import { SecureServerlessBackendStack } from '../lib/stack';

// Context: -c stage=dev|staging|prod (default dev), -c arch=arm64|x86_64 (default arm64),
// -c artifactsDir=DIR (default target/lambda), -c build=false to fail instead of running make build.
const app = new App();
const root = path.resolve(__dirname, '..', '..');
const stage = String(app.node.tryGetContext('stage') ?? 'dev');
const artifactsDir = app.node.tryGetContext('artifactsDir') as string | undefined;
const build = String(app.node.tryGetContext('build') ?? 'true') !== 'false';

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }), new ServerlessChecks(app, { verbose: true }));

try {
  new SecureServerlessBackendStack(app, `SecureServerlessBackend-${stage}`, {
    description: `secure-serverless-backend (${stage}): API Gateway REST -> Rust Lambda -> DynamoDB`,
    stage,
    config: loadStageConfig(path.join(root, 'config', 'stages.json'), stage),
    arch: parseArch(app.node.tryGetContext('arch')),
    repoRoot: root,
    ...(artifactsDir ? { artifactsDir: path.resolve(root, artifactsDir) } : {}),
    buildMissingArtifacts: build,
  });
} catch (error) {
  // Configuration and artifact problems are the user's to fix: show the message, not a stack trace.
  if (error instanceof ArtifactError || error instanceof ConfigError) {
    process.stderr.write(`\n${error.message}\n\n`);
    process.exit(1);
  }
  throw error;
}
