import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { artifactPath, defaultArtifactsDir, ensureArtifacts, LAMBDA_SOURCES, parseArch, SOURCES_STAMP, sourcesDigest, zipBootstrapArch } from '../lib/artifacts';
import { SecureServerlessBackendStack } from '../lib/stack';
import { fakeArtifacts, fakeElfHeader, FUNCTION_NAMES, minimalZip, newApp, REPO_ROOT, stageConfig } from './helpers';

describe('reading the architecture of bootstrap inside a Lambda zip', () => {
  it('reads a stored entry', () => {
    const dir = fakeArtifacts('arm64', { method: 0 });
    assert.equal(zipBootstrapArch(artifactPath(dir, FUNCTION_NAMES[0])), 'arm64');
  });

  it('reads a deflated entry, as cargo-lambda writes it', () => {
    const dir = fakeArtifacts('x86_64', { method: 8 });
    assert.equal(zipBootstrapArch(artifactPath(dir, FUNCTION_NAMES[0])), 'x86_64');
  });

  it('rejects a file that is not a zip', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ssb-')), 'bootstrap.zip');
    writeFileSync(file, 'not a zip at all, just text that is long enough');
    assert.throws(() => zipBootstrapArch(file), /is not a zip file/);
  });

  it('rejects a zip whose first entry is not bootstrap', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ssb-')), 'bootstrap.zip');
    writeFileSync(file, minimalZip('README', fakeElfHeader('arm64')));
    assert.throws(() => zipBootstrapArch(file), /first entry to be "bootstrap", found "README"/);
  });

  it('rejects a bootstrap that is not ELF', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ssb-')), 'bootstrap.zip');
    writeFileSync(file, minimalZip('bootstrap', Buffer.from('#!/bin/sh\necho hello, this is a script not a binary\n')));
    assert.throws(() => zipBootstrapArch(file), /not an ELF binary/);
  });

  it('rejects an ELF for a machine Lambda does not run', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ssb-')), 'bootstrap.zip');
    writeFileSync(file, minimalZip('bootstrap', fakeElfHeader(0x28 /* 32-bit ARM */)));
    assert.throws(() => zipBootstrapArch(file), /ELF machine 0x28/);
  });
});

describe('ensuring the artifacts before synth', () => {
  it("looks for each architecture's zips in its own directory, where make build ARCH=… leaves them", () => {
    assert.equal(defaultArtifactsDir('/repo', 'arm64'), path.join('/repo', 'target', 'lambda', 'arm64'));
    assert.equal(defaultArtifactsDir('/repo', 'x86_64'), path.join('/repo', 'target', 'lambda', 'x86_64'));
  });

  it('defaults to arm64 and rejects an unknown architecture', () => {
    assert.equal(parseArch(undefined), 'arm64');
    assert.throws(() => parseArch('aarch64'), /unknown architecture "aarch64": use -c arch=arm64 or -c arch=x86_64/);
  });

  it('fails on an architecture mismatch, naming the function, both architectures and the fix', () => {
    const dir = fakeArtifacts('x86_64');
    assert.throws(
      () => ensureArtifacts({ artifactsDir: dir, functionNames: FUNCTION_NAMES, arch: 'arm64' }),
      (e: Error) =>
        new RegExp(`^${FUNCTION_NAMES[0]}: .* holds a x86_64 binary but the stack deploys arm64 functions`).test(e.message) &&
        e.message.includes('make build ARCH=arm64') &&
        e.message.includes('-c arch=x86_64'),
    );
  });

  it('fails on a missing artifact with the command to run', () => {
    const dir = fakeArtifacts('arm64', { names: FUNCTION_NAMES.slice(1) });
    assert.throws(
      () => ensureArtifacts({ artifactsDir: dir, functionNames: FUNCTION_NAMES, arch: 'arm64' }),
      new RegExp(`${FUNCTION_NAMES[0]}: .*bootstrap.zip is missing[\\s\\S]*Run: make build ARCH=arm64`),
    );
  });

  it('fails on an artifact older than the sources', () => {
    const dir = fakeArtifacts('x86_64');
    const src = mkdtempSync(path.join(tmpdir(), 'ssb-src-'));
    mkdirSync(path.join(src, 'functions'));
    writeFileSync(path.join(src, 'functions', 'main.rs'), 'fn main() {}');
    const old = new Date(Date.now() - 3600_000);
    utimesSync(artifactPath(dir, FUNCTION_NAMES[2]), old, old);
    assert.throws(
      () => ensureArtifacts({ artifactsDir: dir, functionNames: FUNCTION_NAMES, arch: 'x86_64', sources: [path.join(src, 'functions')] }),
      new RegExp(`${FUNCTION_NAMES[2]}: .* is older than the Rust sources[\\s\\S]*Run: make build ARCH=x86_64`),
    );
  });

  /** A checkout's sources written now, and zips (for `arch`) made an hour before, as a CI job that downloads them has. */
  function checkoutWithOlderZips(arch: 'arm64' | 'x86_64') {
    const dir = fakeArtifacts(arch);
    const old = new Date(Date.now() - 3600_000);
    for (const fn of FUNCTION_NAMES) utimesSync(artifactPath(dir, fn), old, old);
    const src = mkdtempSync(path.join(tmpdir(), 'ssb-src-'));
    mkdirSync(path.join(src, 'functions', 'core'), { recursive: true });
    writeFileSync(path.join(src, 'functions', 'core', 'lib.rs'), 'pub fn f() {}');
    writeFileSync(path.join(src, 'Cargo.lock'), '# lock');
    return { dir, sources: [path.join(src, 'functions'), path.join(src, 'Cargo.lock')], src };
  }

  it('takes zips older than the checkout when their stamp names these sources (CI\'s downloaded artifacts)', () => {
    const { dir, sources } = checkoutWithOlderZips('arm64');
    writeFileSync(path.join(dir, SOURCES_STAMP), `${sourcesDigest(sources)}\n`);
    assert.deepEqual(Object.keys(ensureArtifacts({ artifactsDir: dir, functionNames: FUNCTION_NAMES, arch: 'arm64', sources })).sort(), [...FUNCTION_NAMES].sort());
  });

  it('still refuses them once a source differs from what the stamp names', () => {
    const { dir, sources, src } = checkoutWithOlderZips('arm64');
    writeFileSync(path.join(dir, SOURCES_STAMP), `${sourcesDigest(sources)}\n`);
    writeFileSync(path.join(src, 'functions', 'core', 'lib.rs'), 'pub fn f() { changed() }');
    assert.throws(() => ensureArtifacts({ artifactsDir: dir, functionNames: FUNCTION_NAMES, arch: 'arm64', sources }), /is older than the Rust sources/);
  });

  it('still refuses zips of the other architecture whatever their stamp', () => {
    const { dir, sources } = checkoutWithOlderZips('x86_64');
    writeFileSync(path.join(dir, SOURCES_STAMP), `${sourcesDigest(sources)}\n`);
    assert.throws(() => ensureArtifacts({ artifactsDir: dir, functionNames: FUNCTION_NAMES, arch: 'arm64', sources }), /holds a x86_64 binary but the stack deploys arm64 functions/);
  });

  it('digests names and contents, not times, in a stable order', () => {
    const { sources, src } = checkoutWithOlderZips('arm64');
    const before = sourcesDigest(sources);
    utimesSync(path.join(src, 'Cargo.lock'), new Date(0), new Date(0));
    assert.equal(sourcesDigest(sources), before, 'a touched file is the same source');
    writeFileSync(path.join(src, 'functions', 'core', 'mod.rs'), '');
    assert.notEqual(sourcesDigest(sources), before, 'a new file is a change');
  });

  it('lets the stage stack synthesize on the repository\'s sources without a build when make build\'s stamp says so', () => {
    const artifactsDir = fakeArtifacts('arm64');
    for (const fn of FUNCTION_NAMES) utimesSync(artifactPath(artifactsDir, fn), new Date(0), new Date(0));
    const tool = (...args: string[]) => execFileSync('node', ['--import', 'tsx', path.join(REPO_ROOT, 'cdk', 'tools', 'stamp-artifacts.ts'), ...args], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const digest = tool('begin', artifactsDir);
    assert.equal(digest, sourcesDigest(LAMBDA_SOURCES.map((p) => path.join(REPO_ROOT, p))));
    const build = (dir: string) =>
      new SecureServerlessBackendStack(newApp(), 'SecureServerlessBackend-dev', { stage: 'dev', config: stageConfig('dev'), arch: 'arm64', repoRoot: REPO_ROOT, artifactsDir: dir, buildMissingArtifacts: false });
    assert.throws(() => build(artifactsDir), /is older than the Rust sources/, 'without the stamp, epoch-old zips are stale');
    tool('write', artifactsDir, digest);
    assert.equal(readFileSync(path.join(artifactsDir, SOURCES_STAMP), 'utf8'), `${digest}\n`);
    assert.doesNotThrow(() => build(artifactsDir));
  });

  it('returns every zip when all match', () => {
    const dir = fakeArtifacts('arm64');
    const zips = ensureArtifacts({ artifactsDir: dir, functionNames: FUNCTION_NAMES, arch: 'arm64' });
    assert.deepEqual(Object.keys(zips).sort(), [...FUNCTION_NAMES].sort());
  });

  it('makes the stack throw at synth when the zips were built for the other architecture', () => {
    const artifactsDir = fakeArtifacts('x86_64');
    assert.throws(
      () =>
        new SecureServerlessBackendStack(newApp(), 'Mismatch', {
          stage: 'dev',
          config: stageConfig('dev'),
          arch: 'arm64',
          repoRoot: REPO_ROOT,
          artifactsDir,
          buildMissingArtifacts: false,
          checkArtifactFreshness: false,
        }),
      /holds a x86_64 binary but the stack deploys arm64 functions\. Run: make build ARCH=arm64, or synthesize with -c arch=x86_64/,
    );
  });
});
