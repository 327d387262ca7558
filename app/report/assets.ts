import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** The browser libraries and our own page code, read once and inlined into every report. */
export interface ReportAssets {
  css: string;
  /** d3-hierarchy (tree layout), uPlot (plots), diff2html (diff rendering). */
  vendorJs: string;
}

let cached: ReportAssets | undefined;

export function reportAssets(): ReportAssets {
  if (cached) return cached;
  const read = (path: string) => readFileSync(path, 'utf8');
  // d3-hierarchy's package exports hide its dist folder; its main entry sits in the same folder.
  const d3 = join(dirname(require.resolve('d3-hierarchy')), 'd3-hierarchy.min.js');
  cached = {
    css: [
      read(require.resolve('uplot/dist/uPlot.min.css')),
      read(require.resolve('diff2html/bundles/css/diff2html.min.css')),
      read(join(here, 'client', 'report.css')),
    ].join('\n'),
    vendorJs: [
      read(d3),
      read(require.resolve('uplot/dist/uPlot.iife.min.js')),
      read(require.resolve('diff2html/bundles/js/diff2html.min.js')),
    ].join('\n;\n'),
  };
  return cached;
}

/** A page's own code: the shared helpers, then `client/<page>-report.js`. */
export function pageScript(page: 'run' | 'sweep'): string {
  return ['common.js', `${page}-report.js`].map((f) => readFileSync(join(here, 'client', f), 'utf8')).join('\n');
}
