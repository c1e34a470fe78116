// Records which sources the Lambda zips in a directory were built from; scripts/build.sh takes the
// digest before the build and writes it beside the zips after a successful one:
//   node --import tsx cdk/tools/stamp-artifacts.ts begin DIR         → removes DIR's stamp, prints the sources' digest
//   node --import tsx cdk/tools/stamp-artifacts.ts write DIR DIGEST  → DIR/sources.sha256
import { rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LAMBDA_SOURCES, SOURCES_STAMP, sourcesDigest } from '../lib/artifacts';

const root = path.resolve(__dirname, '..', '..');
const [command, dir, digest] = process.argv.slice(2);
if (command === 'begin' && dir) {
  rmSync(path.join(dir, SOURCES_STAMP), { force: true });
  process.stdout.write(`${sourcesDigest(LAMBDA_SOURCES.map((p) => path.join(root, p)))}\n`);
} else if (command === 'write' && dir && /^[0-9a-f]{64}$/.test(digest ?? '')) {
  writeFileSync(path.join(dir, SOURCES_STAMP), `${digest}\n`);
} else {
  process.stderr.write('usage: stamp-artifacts.ts begin ARTIFACTS_DIR | write ARTIFACTS_DIR DIGEST\n');
  process.exit(2);
}
