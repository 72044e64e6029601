/**
 * Collects the figures every reliability test recorded (test meta, see support.ts) once the run ends, writes them to
 * `.local/reliability/results.json`, and — after a complete, passing run of every reliability file — rewrites the
 * figures section of docs/RELIABILITY.md, so the document always shows what a green run measured.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';
import type { ScenarioFigures } from './support.js';

const suiteDir = dirname(fileURLToPath(import.meta.url));
const repositoryRoot = join(suiteDir, '..', '..');
const resultsFile = join(repositoryRoot, '.local', 'reliability', 'results.json');
const documentFile = join(repositoryRoot, 'docs', 'RELIABILITY.md');
const startMarker = '<!-- figures:start (written by test/reliability/reporter.ts) -->';
const endMarker = '<!-- figures:end -->';

interface RecordedCase extends ScenarioFigures {
  readonly file: string;
  readonly test: string;
  readonly state: string;
}

const sum = (values: readonly Readonly<Record<string, number>>[]) => {
  const total: Record<string, number> = {};
  for (const value of values) for (const [name, count] of Object.entries(value)) total[name] = (total[name] ?? 0) + count;
  return total;
};

const listed = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${name} × ${count}`)
    .join('; ') || '—';

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function figuresMarkdown(cases: readonly RecordedCase[], finishedAt: Date): string {
  const lines = [
    `Last complete run: ${finishedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cases.length} recorded cases, ` +
      `${cases.reduce((total, each) => total + each.checked, 0)} videos/requests checked, ` +
      `**${cases.reduce((total, each) => total + each.lost, 0)} lost, ${cases.reduce((total, each) => total + each.extraAssets, 0)} extra Mux assets**.`,
    '',
    '| Scenario | Case | Injected | Observed (retries, redeliveries, refusals) | Checked | Lost | Extra assets |',
    '|---|---|---|---|---:|---:|---:|',
  ];
  for (const each of cases) {
    lines.push(`| ${cell(each.scenario)} | ${cell(each.case)} | ${cell(listed(each.injected))} | ${cell(listed(each.observed))} | ${each.checked} | ${each.lost} | ${each.extraAssets} |`);
  }
  const injected = sum(cases.map((each) => each.injected));
  lines.push('', `Injected in total: ${listed(injected)}.`);
  return lines.join('\n');
}

export default class ReliabilityReporter implements Reporter {
  async onTestRunEnd(testModules: ReadonlyArray<TestModule>, _errors: unknown, reason: TestRunEndReason): Promise<void> {
    const cases: RecordedCase[] = [];
    const files = new Set<string>();
    for (const module of testModules) {
      const file = relative(repositoryRoot, module.moduleId);
      files.add(basename(module.moduleId));
      for (const test of module.children.allTests()) {
        const figures = test.meta().reliability;
        if (figures) cases.push({ ...figures, file, test: test.fullName, state: test.result().state });
      }
    }
    cases.sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
    const finishedAt = new Date();
    await mkdir(dirname(resultsFile), { recursive: true });
    await writeFile(resultsFile, `${JSON.stringify({ finishedAt, reason, cases }, null, 2)}\n`);

    const suiteFiles = (await readdir(suiteDir)).filter((name) => name.endsWith('.test.ts'));
    const complete = reason === 'passed' && suiteFiles.every((name) => files.has(name)) && cases.every((each) => each.state === 'passed');
    if (!complete) return;
    const document = await readFile(documentFile, 'utf8');
    const start = document.indexOf(startMarker);
    const end = document.indexOf(endMarker);
    if (start < 0 || end < start) return;
    const updated = `${document.slice(0, start + startMarker.length)}\n${figuresMarkdown(cases, finishedAt)}\n${document.slice(end)}`;
    await writeFile(documentFile, updated);
  }
}
