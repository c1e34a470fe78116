import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountConfig, loadAccountConfig } from '../lib/account-config';
import { ACCOUNT_STACK_NAME, AccountStack } from '../lib/account-stack';
import { Arch } from '../lib/artifacts';
import { loadStageConfig, StageConfig } from '../lib/config';
import { loadContract } from '../lib/contract';
import { buildStageStacks, StageStacks } from '../lib/multi-region';
import { SecureServerlessBackendStack } from '../lib/stack';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CONTRACT = loadContract(path.join(REPO_ROOT, 'api', 'openapi.json'));
export const FUNCTION_NAMES = CONTRACT.operations.map((op) => op.functionName);

/** A 64-byte ELF64 header whose only meaningful fields are the magic and e_machine. */
export function fakeElfHeader(arch: Arch | number): Buffer {
  const elf = Buffer.alloc(64);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2; // 64-bit
  elf[5] = 1; // little endian
  elf[6] = 1; // version
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(typeof arch === 'number' ? arch : arch === 'arm64' ? 0xb7 : 0x3e, 18);
  return elf;
}

/** A minimal zip with one entry, stored (method 0) or deflated (method 8), as cargo-lambda lays it out. */
export function minimalZip(name: string, content: Buffer, method: 0 | 8 = 0): Buffer {
  const data = method === 8 ? zlib.deflateRawSync(content) : content;
  const crc = zlib.crc32(content);
  const nameBuf = Buffer.from(name, 'utf8');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(0, 6);
  local.writeUInt16LE(method, 8);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(nameBuf.length, 26);
  local.writeUInt16LE(0, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(method, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(nameBuf.length, 28);
  central.writeUInt32LE((0o100755 << 16) >>> 0, 38);
  central.writeUInt32LE(0, 42);
  const centralOffset = local.length + nameBuf.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBuf.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, nameBuf, data, central, nameBuf, end]);
}

/** A temp directory of <function>/bootstrap.zip holding fake ELF headers for `arch`. */
export function fakeArtifacts(arch: Arch, options: { method?: 0 | 8; names?: readonly string[] } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ssb-artifacts-'));
  for (const fn of options.names ?? FUNCTION_NAMES) {
    mkdirSync(path.join(dir, fn), { recursive: true });
    writeFileSync(path.join(dir, fn, 'bootstrap.zip'), minimalZip('bootstrap', fakeElfHeader(arch), options.method ?? 0));
  }
  return dir;
}

export function stageConfig(stage: string): StageConfig {
  return loadStageConfig(path.join(REPO_ROOT, 'config', 'stages.json'), stage);
}

/** The subscriber the tests give staging and prod, as `-c alarmEmail=…` does (the repo ships none). */
export const TEST_ALARM_EMAIL = 'alarms@example.com';

/** The stage's settings as a synth with `-c alarmEmail=alarms@example.com` sees them (dev keeps its own). */
export function deployableStageConfig(stage: string): StageConfig {
  const c = stageConfig(stage);
  return stage === 'dev' ? c : { ...c, alarmEmail: c.alarmEmail ?? TEST_ALARM_EMAIL };
}

export interface Synthesized {
  readonly app: App;
  /** The stage's primary stack (stageStackName(stage)). */
  readonly stack: SecureServerlessBackendStack;
  readonly template: Template;
  /** Every stack of the stage (one for most stages), in deployment order. */
  readonly stages: StageStacks;
}


/** The feature flags and settings of cdk.json, so tests synthesize what `cdk synth` does. */
export const CDK_CONTEXT = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

/** An App with cdk.json's context. */
export function newApp(): App {
  return new App({ context: CDK_CONTEXT });
}

const cache = new Map<string, Synthesized>();

/** Builds the stage's stack on fake artifacts for `arch`, in an App with cdk.json's context plus `context`. */
export function buildStage(stage: string, arch: Arch = 'arm64', context: Record<string, unknown> = {}): Synthesized {
  const app = new App({ context: { ...CDK_CONTEXT, ...context } });
  const stages = buildStageStacks(app, {
    stage,
    config: deployableStageConfig(stage),
    arch,
    repoRoot: REPO_ROOT,
    artifactsDir: fakeArtifacts(arch),
    buildMissingArtifacts: false,
    checkArtifactFreshness: false,
  });
  return { app, stack: stages.primary, template: Template.fromStack(stages.primary), stages };
}

/** Builds the stage's stack on fake x86_64 or arm64 artifacts (cached per stage and arch). */
export function synthStage(stage: string, arch: Arch = 'arm64'): Synthesized {
  const key = `${stage}/${arch}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const synthesized = buildStage(stage, arch);
  cache.set(key, synthesized);
  return synthesized;
}

/** The account stack from `config` (default config/account.json), in an App with cdk.json's context plus `context`. */
export function accountStack(config?: AccountConfig, context: Record<string, unknown> = {}): AccountStack {
  const app = new App({ context: { ...CDK_CONTEXT, ...context } });
  const c = config ?? loadAccountConfig(path.join(REPO_ROOT, 'config', 'account.json'));
  const stages = Object.fromEntries(Object.keys(c.githubActions?.environments ?? {}).map((env) => [env, deployableStageConfig(env)]));
  return new AccountStack(app, ACCOUNT_STACK_NAME, { config: c, stages });
}
