/** The short human table on stderr: one line per figure that matters. */
type R = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function tableLines(results: Record<string, unknown>): string[] {
  const rows: [string, string, string][] = [];
  const add = (bench: string, figure: string, value: string) => rows.push([bench, figure, value]);
  for (const [name, raw] of Object.entries(results)) {
    const r = raw as R;
    if (r.error) {
      add(name, 'ERROR', String(r.error).split('\n')[0]);
      continue;
    }
    if (name === 'overhead') {
      add(
        name,
        'overhead/iteration, orchestrator',
        `median ${r.orchestrator.median_ms} ms, p95 ${r.orchestrator.p95_ms} ms (n=${r.orchestrator.samples})`,
      );
      add(name, 'overhead/iteration, naive loop', `median ${r.naive_loop.median_ms} ms, p95 ${r.naive_loop.p95_ms} ms`);
      add(
        name,
        'history per iteration',
        `${r.history.events_per_iteration} events, ${r.history.bytes_per_iteration} bytes`,
      );
    }
    if (name === 'gpu-busy') {
      add(
        name,
        `busy fraction, ours (pipeline=${r.params.pipeline})`,
        `${r.orchestrator.busy_fraction} (wall ${r.orchestrator.wall_s} s)`,
      );
      if (r.naive_sequential)
        add(
          name,
          'busy fraction, naive sequential',
          `${r.naive_sequential.busy_fraction} (wall ${r.naive_sequential.wall_s} s)`,
        );
    }
    if (name === 'storage') {
      add(name, 'stored ÷ changed bytes', `${r.stored_per_changed} (full copy: ${r.full_copy_per_changed})`);
      add(name, 'allocated on disk ÷ changed', `${r.allocated_per_changed}`);
    }
    if (name === 'scale') {
      add(name, `start ${r.params.runs} runs`, `${r.start_s} s (${r.starts_per_s}/s)`);
      add(name, 'completed / errors', `${r.completed}/${r.params.runs} in ${r.complete_s} s, ${r.errors} errors`);
      add(name, 'worker peak RSS', `control ${r.peak_rss_mib.control} MiB, gpu ${r.peak_rss_mib.gpu} MiB`);
    }
    if (name === 'recovery') {
      for (const t of r.trials)
        add(
          name,
          `heartbeat ${t.heartbeat_s} s: kill → rerun`,
          `${t.recovery_s} s (${t.standby ? 'standby' : 'fresh'} worker boot ${t.worker_boot_s} s)`,
        );
    }
    const m = r.machine;
    if (m)
      add(name, 'machine', `${m.cpu_model}, ${m.cores} cores, node ${m.node}, load ${m.load_avg_1_5_15.join('/')}`);
  }
  const w0 = Math.max(...rows.map((r) => r[0].length), 5);
  const w1 = Math.max(...rows.map((r) => r[1].length), 6);
  return rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
}
