// The template half of `make diff STAGE=…`: the operator CLI (tools/operator, `operator diff`)
// synthesizes the stage and fetches the deployed templates, then runs
//   node --import tsx cdk/tools/stage-diff.ts INPUT.json REPORT.md
// INPUT.json: {"stage", "account", "stacks": [{"name", "region", "template", "deployed": path or null}]}.
// Prints `cdk diff`'s text per stack, writes the Markdown report (the pull-request comment) to
// REPORT.md and appends it to $GITHUB_STEP_SUMMARY when set. Exit status 1 when a stateful resource
// would be replaced or deleted and PR_LABELS (a JSON array of the pull request's label names) does
// not hold the label that allows it (cdk/lib/stage-diff.ts); 2 on bad input.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { diffStack, parseLabels, renderReport, StackInput, TemplateJson, verdict } from '../lib/stage-diff';

function fail(sentence: string): never {
  process.stderr.write(`${sentence}\n`);
  process.exit(2);
}

function readJson(file: string): TemplateJson {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as TemplateJson;
  } catch (error) {
    return fail(`Cannot read ${file} as JSON: ${(error as Error).message}.`);
  }
}

function labels(): string[] {
  try {
    return parseLabels(process.env.PR_LABELS);
  } catch (error) {
    return fail((error as Error).message);
  }
}

const [inputFile, reportFile] = process.argv.slice(2);
if (!inputFile || !reportFile) fail('usage: stage-diff.ts INPUT.json REPORT.md');
const input = readJson(inputFile) as { stage?: unknown; account?: unknown; stacks?: unknown };
if (typeof input.stage !== 'string' || typeof input.account !== 'string' || !Array.isArray(input.stacks)) fail(`${inputFile} needs "stage", "account" and "stacks".`);
const stacks: StackInput[] = (input.stacks as Array<Record<string, unknown>>).map((s) => ({
  name: String(s.name),
  region: String(s.region),
  template: readJson(String(s.template)),
  deployed: s.deployed === null ? null : readJson(String(s.deployed)),
}));

const diffs = stacks.map(diffStack);
for (const d of diffs) process.stdout.write(`\n${d.name} (${d.region}${d.deployed ? '' : ', not deployed yet'})\n${d.text}`);
const result = verdict(input.stage, diffs, labels());
const report = renderReport({ stage: input.stage, account: input.account, diffs, verdict: result });
mkdirSync(path.dirname(reportFile), { recursive: true });
writeFileSync(reportFile, report);
if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${report}\n`);
process.stderr.write(`\n${result.sentence}\nReport: ${reportFile}\n`);
process.exit(result.ok ? 0 : 1);
