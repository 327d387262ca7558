import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ArtifactStore } from '../../src/store/artifact-store';
import { pageScript, reportAssets } from './assets';
import { htmlPage } from './html-page';
import { redactDeep, redactText, secretValues } from './redact';
import {
  collectRunReport,
  defaultLimits,
  type ReportFiles,
  type ReportLimits,
  type RunReportInput,
} from './run-report-data';

export interface WrittenReport {
  /** Path of the page to open. */
  index: string;
  /** Bytes of index.html, and of everything written (logs and cut diffs included). */
  page_bytes: number;
  total_bytes: number;
  files: number;
}

/** Folders a report owns inside its output dir: replaced on every write, so no stale log survives. */
const OWNED_DIRS = ['logs', 'diffs', 'code'];

/** Writes index.html and the files it links to; secrets are scrubbed from all of it. */
export async function writePage(
  outDir: string,
  page: { title: string; js: string; data: unknown },
  files: ReportFiles,
): Promise<WrittenReport> {
  const secrets = secretValues();
  const assets = reportAssets();
  const html = htmlPage({
    title: page.title,
    css: assets.css,
    scripts: [assets.vendorJs, page.js],
    data: redactDeep(page.data, secrets),
  });
  await mkdir(outDir, { recursive: true });
  for (const d of OWNED_DIRS) await rm(join(outDir, d), { recursive: true, force: true });
  let total = Buffer.byteLength(html);
  for (const [rel, content] of files) {
    const text = typeof content === 'string' ? content : content.toString('utf8');
    const clean = redactText(text, secrets);
    const dest = join(outDir, rel);
    await mkdir(dirname(dest), { recursive: true });
    // Logs are bytes; keep them byte-exact unless something had to be scrubbed.
    await writeFile(dest, clean === text ? content : clean);
    total += Buffer.byteLength(clean);
  }
  const index = join(outDir, 'index.html');
  await writeFile(index, html);
  return { index, page_bytes: Buffer.byteLength(html), total_bytes: total, files: files.size + 1 };
}

/** The report of one run, as of now (a running run's report is a snapshot). */
export async function writeRunReport(
  input: RunReportInput,
  store: ArtifactStore,
  outDir: string,
  limits: ReportLimits = defaultLimits,
): Promise<WrittenReport> {
  const { data, files } = await collectRunReport(input, store, limits);
  return writePage(outDir, { title: `${input.view.runId} · speedrunner report`, js: pageScript('run'), data }, files);
}
