// Re-checks a finished run's versions: the static rules on each version's change against its parent,
// the run-time rules on its stored log, and what the run itself recorded (the harness clock and data
// fingerprint are seen only while a version runs, so their violations come from the run's record).
import type { NodeRecord, RunView } from '../../core/types';
import type { TaskConfig } from '../config/task';
import { StoredLog } from '../metrics/stored-log';
import type { ArtifactStore } from '../store/artifact-store';
import { checkExecution } from './execution-rules';
import { mergeVerdicts, type IntegrityVerdict, type Violation } from './rules';
import { checkChanges } from './static-rules';

export interface VersionAudit {
  id: number;
  stage: NodeRecord['stage'];
  status: NodeRecord['status'];
  /** Violations the run recorded when the version ran, and those found again now, without repeats. */
  violations: Violation[];
  recorded: number;
  warnings: string[];
  /** true: a named rule was broken, the version is never best and never scored. */
  excluded: boolean;
}

export interface RunAudit {
  runId: string;
  task: string;
  versions: VersionAudit[];
  excluded: number[];
}

function withoutRepeats(vs: Violation[]): Violation[] {
  const seen = new Set<string>();
  return vs.filter((v) => {
    const k = `${v.rule}\n${v.detail}`;
    return !seen.has(k) && (seen.add(k), true);
  });
}

async function auditVersion(
  store: ArtifactStore,
  view: RunView,
  n: NodeRecord,
  task: TaskConfig,
  valTokens: number,
): Promise<VersionAudit> {
  const parts: Partial<IntegrityVerdict>[] = [{ violations: n.violations ?? [] }];
  const parent = n.parent === null ? undefined : view.nodes[n.parent];
  if (n.snapshot && parent?.snapshot) {
    const [before, after] = await Promise.all([
      store.readSnapshotFiles(parent.snapshot, task.fnames),
      store.readSnapshotFiles(n.snapshot, task.fnames),
    ]);
    const changes = task.fnames
      .filter((f) => after[f] !== undefined && after[f] !== before[f])
      .map((f) => ({ path: f, before: before[f] ?? '', after: after[f] }));
    parts.push(checkChanges(changes, { valTokens }));
  }
  if (n.logRef && n.stage !== 'root') {
    // A version that produced its metric ran to its end; a crash or timeout is judged by its status alone.
    const completed = n.status === 'ok' || (n.status === 'buggy' && n.metrics[task.selection_metric] !== undefined);
    const log = await StoredLog.read(store, n.logRef);
    const wallMs = n.timings.harness_wall_ms ?? n.timings.exec_ms;
    const exec = checkExecution(task, { log, wallMs, completed, reportedTrainMs: n.metrics.train_time });
    parts.push({ violations: exec.violations, warnings: exec.warnings });
  }
  const merged = mergeVerdicts(...parts, { warnings: n.flags ?? [] });
  const violations = withoutRepeats(merged.violations);
  return {
    id: n.id,
    stage: n.stage,
    status: n.status,
    violations,
    recorded: n.violations?.length ?? 0,
    warnings: [...new Set(merged.warnings)],
    excluded: violations.length > 0,
  };
}

export async function auditRun(
  store: ArtifactStore,
  view: RunView,
  task: TaskConfig,
  valTokens: number,
): Promise<RunAudit> {
  const versions: VersionAudit[] = [];
  for (const n of view.nodes)
    if (n.status !== 'pending') versions.push(await auditVersion(store, view, n, task, valTokens));
  return {
    runId: view.runId,
    task: view.task,
    versions,
    excluded: versions.filter((v) => v.excluded).map((v) => v.id),
  };
}
