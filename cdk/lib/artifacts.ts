import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

/**
 * The Lambda zips `make build ARCH=…` leaves in target/lambda/<arch>/<function>/bootstrap.zip, and
 * the checks that what the stack deploys is what was built: present, newer than the sources, and
 * for the architecture the functions declare.
 */

export type Arch = 'arm64' | 'x86_64';

/** ELF e_machine values of the two Lambda architectures. */
const E_MACHINE: Readonly<Record<number, Arch>> = { 0x3e: 'x86_64', 0xb7: 'arm64' };

export class ArtifactError extends Error {}

export function parseArch(value: unknown): Arch {
  if (value === undefined) return 'arm64';
  if (value !== 'arm64' && value !== 'x86_64') {
    throw new ArtifactError(`unknown architecture ${JSON.stringify(value)}: use -c arch=arm64 or -c arch=x86_64`);
  }
  return value;
}

/** Where `make build ARCH=<arch>` leaves the zips: <repoRoot>/target/lambda/<arch>. */
export function defaultArtifactsDir(repoRoot: string, arch: Arch): string {
  return path.join(repoRoot, 'target', 'lambda', arch);
}

export function artifactPath(dir: string, functionName: string): string {
  return path.join(dir, functionName, 'bootstrap.zip');
}

/** Reads the first `length` bytes of `file`. */
function head(file: string, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Returns the architecture of the `bootstrap` ELF binary stored as the first entry of a Lambda zip,
 * reading only the local file header and the start of the entry (cargo-lambda writes `bootstrap` first).
 */
export function zipBootstrapArch(zipFile: string): Arch {
  const header = head(zipFile, 64 * 1024);
  if (header.length < 30 || header.readUInt32LE(0) !== 0x04034b50) {
    throw new ArtifactError(`${zipFile} is not a zip file (no local file header at offset 0)`);
  }
  const method = header.readUInt16LE(8);
  const nameLength = header.readUInt16LE(26);
  const extraLength = header.readUInt16LE(28);
  const name = header.subarray(30, 30 + nameLength).toString('utf8');
  if (name !== 'bootstrap') {
    throw new ArtifactError(`${zipFile}: expected the first entry to be "bootstrap", found ${JSON.stringify(name)}`);
  }
  const data = header.subarray(30 + nameLength + extraLength);
  let elf: Buffer;
  if (method === 0) {
    elf = data;
  } else if (method === 8) {
    elf = zlib.inflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } else {
    throw new ArtifactError(`${zipFile}: bootstrap uses zip compression method ${method}; only stored (0) and deflate (8) are read`);
  }
  if (elf.length < 20 || elf.readUInt32BE(0) !== 0x7f454c46) {
    throw new ArtifactError(`${zipFile}: bootstrap is not an ELF binary (first bytes ${elf.subarray(0, 4).toString('hex')})`);
  }
  const machine = elf.readUInt16LE(18);
  const arch = E_MACHINE[machine];
  if (!arch) throw new ArtifactError(`${zipFile}: bootstrap is built for ELF machine 0x${machine.toString(16)}, which Lambda does not run`);
  return arch;
}

/** What the Lambda zips are built from, relative to the repository root. */
export const LAMBDA_SOURCES: readonly string[] = ['functions', 'Cargo.toml', 'Cargo.lock'];

/**
 * The file `make build` writes beside the zips: the digest of the sources they were built from
 * (sourcesDigest; cdk/tools/stamp-artifacts.ts), so that zips carried to another checkout (a CI artifact) count as fresh there
 * whatever the files' times.
 */
export const SOURCES_STAMP = 'sources.sha256';

/** Every file under the given paths (directories walked, build output and dot files skipped), in a stable order. */
function sourceFiles(paths: readonly string[]): Array<{ file: string; name: string }> {
  const out: Array<{ file: string; name: string }> = [];
  const visit = (p: string, name: string): void => {
    if (!existsSync(p)) return;
    if (statSync(p).isDirectory()) {
      for (const entry of readdirSync(p).sort()) {
        if (entry === 'target' || entry === 'node_modules' || entry.startsWith('.')) continue;
        visit(path.join(p, entry), `${name}/${entry}`);
      }
    } else {
      out.push({ file: p, name });
    }
  };
  for (const p of paths) visit(p, path.basename(p));
  return out;
}

/** Newest modification time (ms) of the files under the given paths; 0 when none exist. */
export function newestMtime(paths: readonly string[]): number {
  return sourceFiles(paths).reduce((newest, f) => Math.max(newest, statSync(f.file).mtimeMs), 0);
}

/** SHA-256 over the names (relative to each given path's parent) and contents of the files under the given paths. */
export function sourcesDigest(paths: readonly string[]): string {
  const hash = createHash('sha256');
  for (const f of sourceFiles(paths)) {
    const content = readFileSync(f.file);
    hash.update(`${f.name}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

/** Whether `artifactsDir` says its zips were built from exactly these sources. */
function stampMatches(artifactsDir: string, sources: readonly string[]): boolean {
  const stamp = path.join(artifactsDir, SOURCES_STAMP);
  return existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === sourcesDigest(sources);
}

export interface ArtifactCheckOptions {
  /** Directory holding <function>/bootstrap.zip. */
  readonly artifactsDir: string;
  readonly functionNames: readonly string[];
  readonly arch: Arch;
  /**
   * Sources the artifacts are built from; an artifact older than any file under them is stale,
   * unless the directory's sources stamp (SOURCES_STAMP) matches their digest.
   * @default - no staleness check
   */
  readonly sources?: readonly string[];
  /**
   * Run `make build ARCH=<arch>` (once, in this directory) when an artifact is missing or stale,
   * instead of failing.
   * @default - never build; throw with the command to run
   */
  readonly buildDir?: string;
}

function problems(o: ArtifactCheckOptions): string[] {
  const sourceTime = o.sources ? newestMtime(o.sources) : 0;
  const out: string[] = [];
  const older: string[] = [];
  for (const fn of o.functionNames) {
    const zip = artifactPath(o.artifactsDir, fn);
    if (!existsSync(zip)) out.push(`${fn}: ${zip} is missing`);
    else if (statSync(zip).mtimeMs < sourceTime) older.push(`${fn}: ${zip} is older than the Rust sources`);
  }
  // Times say nothing across machines (a fresh checkout is newer than zips made elsewhere); the
  // stamp says which sources the zips were built from.
  if (older.length > 0 && !(o.sources && stampMatches(o.artifactsDir, o.sources))) out.push(...older);
  return out;
}

/**
 * Makes sure every function's zip exists, is fresh, and holds a binary for `arch`; returns the zip
 * paths by function name. Throws a message naming the function, the architectures and the fix.
 */
export function ensureArtifacts(o: ArtifactCheckOptions): Record<string, string> {
  let found = problems(o);
  if (found.length > 0 && o.buildDir) {
    process.stderr.write(`Lambda artifacts need a build (${found.join('; ')}); running make build ARCH=${o.arch}\n`);
    execFileSync('make', ['build', `ARCH=${o.arch}`], { cwd: o.buildDir, stdio: ['ignore', process.stderr, process.stderr] });
    found = problems(o);
  }
  if (found.length > 0) {
    throw new ArtifactError(`Lambda artifacts are not ready:\n  ${found.join('\n  ')}\nRun: make build ARCH=${o.arch}`);
  }
  const zips: Record<string, string> = {};
  for (const fn of o.functionNames) {
    const zip = artifactPath(o.artifactsDir, fn);
    const builtFor = zipBootstrapArch(zip);
    if (builtFor !== o.arch) {
      throw new ArtifactError(
        `${fn}: ${zip} holds a ${builtFor} binary but the stack deploys ${o.arch} functions. ` +
          `Run: make build ARCH=${o.arch}, or synthesize with -c arch=${builtFor}`,
      );
    }
    zips[fn] = zip;
  }
  return zips;
}
