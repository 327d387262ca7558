import type { NodeRecord, RunView } from '../../core/types';
import type { ArtifactStore } from '../../src/store/artifact-store';
import { StoredLog } from '../../src/metrics/stored-log';
import { diffSnapshots, type FileChange } from './code-diff';
import type { ExecutionInFlight } from './in-flight';
import { trainingCurve, type TrainingCurve } from './training-curves';

/** What the run report needs to know about a run, however it was read. */
export interface RunReportInput {
  view: RunView;
  /** Temporal's execution status (RUNNING, COMPLETED, …; UNKNOWN without a server). */
  status: string;
  /** `query`: live from the workflow; `store`: the snapshot the run keeps. */
  source: 'query' | 'store';
  /** What ended a failed, terminated or timed-out run (its close event's failure). */
  failure?: string;
  /** The run's config as it started (absent when the server could not be asked). */
  config?: unknown;
  executions?: ExecutionInFlight[];
}

export interface ReportNode extends Omit<NodeRecord, 'previous' | 'planRef' | 'snapshot' | 'logRef' | 'evalLogRef'> {
  /** The whole plan (the node's `plan` is cut short). */
  plan: string;
  /** Unified diff against the parent ('' for the root or an unchanged version); cut when huge. */
  diff: string;
  diff_truncated?: boolean;
  files: FileChange[];
  /** Last lines of the execution log; the whole log is the file at `log_file`. */
  log_tail?: string;
  log_file?: string;
  log_bytes?: number;
  eval_log_file?: string;
  /** val_loss and train_time per validation step, when the log has validation lines. */
  curve?: TrainingCurve;
  /** Every text file of the version's code, each a file beside the page (one per distinct content). */
  code_files?: { path: string; file: string; bytes: number }[];
  previous?: (Omit<NonNullable<NodeRecord['previous']>[number], 'logRef'> & { log_file?: string })[];
}

export interface RunReportData {
  kind: 'run';
  generated_at: string;
  status: string;
  source: 'query' | 'store';
  failure?: string;
  run: Omit<RunView, 'nodes'>;
  config?: unknown;
  nodes: ReportNode[];
  /** Ids from the root to the best version. */
  best_path: number[];
  executions: ExecutionInFlight[];
  counts: Record<string, number>;
}

export interface ReportLimits {
  /** Lines (and at most characters) of log shown inline; the file has all of it. */
  logTailLines: number;
  logTailChars: number;
  /** Characters of one node's diff embedded in the page; longer diffs are cut and also written as a file. */
  maxDiffChars: number;
  /** Characters of one plan embedded in the page. */
  maxPlanChars: number;
  /** Points of one training curve embedded in the page (longer curves are thinned). */
  maxCurvePoints: number;
  /** Code files larger than this are not written beside the page (their diff still is). */
  maxCodeFileBytes: number;
}

export const defaultLimits: ReportLimits = {
  logTailLines: 25,
  logTailChars: 4000,
  maxDiffChars: 60_000,
  maxPlanChars: 8_000,
  maxCurvePoints: 300,
  maxCodeFileBytes: 1_000_000,
};

/** Files written beside index.html: relative path → content. */
export type ReportFiles = Map<string, string | Buffer>;

const tail = (text: string, lines: number, chars: number) => {
  const last = text.replace(/\n$/, '').split('\n').slice(-lines).join('\n');
  return last.length > chars ? `…${last.slice(-chars)}` : last;
};

export function bestPath(nodes: Pick<NodeRecord, 'id' | 'parent'>[], bestId: number | undefined): number[] {
  if (bestId === undefined) return [];
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const path: number[] = [];
  for (let n = byId.get(bestId); n && !path.includes(n.id); n = n.parent === null ? undefined : byId.get(n.parent))
    path.unshift(n.id);
  return path;
}

/** Runs `fn` over `items` with at most `limit` at once, keeping order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/**
 * Everything the page shows, read from the view and the artifact store: per node its whole plan, the
 * diff against its parent, and its log (tail inline, whole as a file). A blob missing from the store
 * (a store that was pruned or not shared) leaves that part out with a note; the rest still renders.
 */
export async function collectRunReport(
  input: RunReportInput,
  store: ArtifactStore,
  limits: ReportLimits = defaultLimits,
): Promise<{ data: RunReportData; files: ReportFiles }> {
  const { view } = input;
  const files: ReportFiles = new Map();
  const byId = new Map(view.nodes.map((n) => [n.id, n]));
  const missing = (what: string, err: unknown) => `(${what} unavailable: ${(err as Error).message})`;

  const nodes = await mapLimit(view.nodes, 16, async (n): Promise<ReportNode> => {
    const { planRef, snapshot, logRef, evalLogRef, previous, ...rest } = n;
    const out: ReportNode = { ...rest, plan: n.plan, diff: '', files: [] };
    if (planRef)
      out.plan = await store.getText(planRef).then(
        (p) => cut(p, limits.maxPlanChars),
        () => n.plan,
      );
    if (snapshot) {
      out.code_files = await codeFiles(store, snapshot, files, limits).catch(() => undefined);
      const parentSnapshot = n.parent === null ? undefined : byId.get(n.parent)?.snapshot;
      if (n.parent === null || parentSnapshot) {
        try {
          const d = n.parent === null ? { patch: '', files: [] } : await diffSnapshots(store, parentSnapshot, snapshot);
          out.files = d.files;
          out.diff = d.patch;
          if (d.patch.length > limits.maxDiffChars) {
            out.diff = d.patch.slice(0, d.patch.lastIndexOf('\n', limits.maxDiffChars) + 1);
            out.diff_truncated = true;
            files.set(`diffs/v_${n.id}.diff`, d.patch);
          }
        } catch (err) {
          out.reason = [n.reason, missing('diff', err)].filter(Boolean).join(' ');
        }
      }
    }
    if (logRef) {
      try {
        const log = await store.getBlob(logRef);
        const curve = trainingCurve(new StoredLog(log), limits.maxCurvePoints);
        if (curve) out.curve = curve;
        out.log_file = `logs/v_${n.id}.log`;
        out.log_bytes = log.length;
        out.log_tail = tail(new StoredLog(log).tail(4 * limits.logTailChars), limits.logTailLines, limits.logTailChars); // never the whole log as a string
        files.set(out.log_file, log);
      } catch (err) {
        out.log_tail = missing('log', err);
      }
    }
    if (evalLogRef) {
      const log = await store.getBlob(evalLogRef).catch(() => undefined);
      if (log) files.set((out.eval_log_file = `logs/v_${n.id}.eval.log`), log);
    }
    if (previous?.length) {
      out.previous = await Promise.all(
        previous.map(async ({ logRef: ref, ...p }, i) => {
          const log = ref ? await store.getBlob(ref).catch(() => undefined) : undefined;
          if (!log) return p;
          const file = `logs/v_${n.id}.measurement-${i + 1}.log`;
          files.set(file, log);
          return { ...p, log_file: file };
        }),
      );
    }
    return out;
  });

  const { nodes: _all, ...run } = view;
  const counts: Record<string, number> = {};
  for (const n of view.nodes) counts[n.status] = (counts[n.status] ?? 0) + 1;
  return {
    data: {
      kind: 'run',
      generated_at: new Date().toISOString(),
      status: input.status,
      source: input.source,
      ...(input.failure ? { failure: input.failure } : {}),
      run,
      ...(input.config !== undefined ? { config: input.config } : {}),
      nodes,
      best_path: bestPath(view.nodes, view.best?.id),
      executions: labelExecutions(input.executions ?? [], view.nodes),
      counts,
    },
    files,
  };
}

/**
 * The version's code as files beside the page, named by content hash (versions that share a file
 * share its copy) and ending in .txt so a browser shows it rather than downloading it.
 */
async function codeFiles(store: ArtifactStore, snapshot: string, files: ReportFiles, limits: ReportLimits) {
  const out: { path: string; file: string; bytes: number }[] = [];
  for (const [path, hash] of Object.entries((await store.getSnapshot(snapshot)).files).sort(([a], [b]) =>
    a < b ? -1 : 1,
  )) {
    const file = `code/${hash.slice(0, 20)}-${path.replace(/[^A-Za-z0-9_.-]+/g, '_')}.txt`;
    if (!files.has(file)) {
      const blob = await store.getBlob(hash);
      if (blob.length > limits.maxCodeFileBytes || blob.subarray(0, 8000).includes(0)) continue;
      files.set(file, blob);
    }
    out.push({ path, file, bytes: (files.get(file) as Buffer).length });
  }
  return out;
}

const cut = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max)}\n… (${text.length - max} more characters)` : text;

/** Names the version an execution belongs to when only one version is waiting for its measurement. */
export function labelExecutions(executions: ExecutionInFlight[], nodes: NodeRecord[]): ExecutionInFlight[] {
  const waiting = nodes.filter((n) => n.status === 'pending' && n.snapshot);
  if (executions.length === 1 && executions[0].nodeId === undefined && waiting.length === 1)
    return [{ ...executions[0], nodeId: waiting[0].id }];
  return executions;
}
