import type { Worker } from '@temporalio/worker';
import { connectWorkerConnection } from '../temporal/connection';
import { createControlWorker } from '../../workers/control';
import { createGpuWorker } from '../../workers/gpu';

export function parseGpus(spec: string): string[] {
  if (spec === 'none' || spec === '') return [];
  const ids = spec.split(',').map((s) => s.trim());
  if (ids.some((id) => !/^\d+$/.test(id)) || new Set(ids).size !== ids.length) {
    throw new Error(`--gpus takes distinct device numbers like 0,1,2,3 or 'none' (got '${spec}')`);
  }
  return ids;
}

/** A long-lived worker; SIGINT/SIGTERM shut it down gracefully (the SDK installs those handlers). */
export async function runWorker(kind: 'control' | 'gpu', opts: { gpus?: string; slots?: string }) {
  const { connection, namespace } = await connectWorkerConnection();
  let worker: Worker;
  if (kind === 'control') worker = await createControlWorker(connection, namespace);
  else worker = await createGpuWorker(connection, namespace, parseGpus(opts.gpus ?? 'none'), Number(opts.slots ?? 1));
  console.log(`${kind} worker up (pid ${process.pid}, namespace ${namespace})`);
  await worker.run();
  await connection.close();
  console.log(`${kind} worker stopped`);
}
