// The baseline: the loop users of the reference harness know, in one process with no orchestrator.
// Each iteration strictly asks the model (ideate, code), applies the edit, writes the workspace, runs
// the script as a child process, waits for it, reads the metric and asks for a summary, then the next.
import { execa } from 'execa';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rolePrompt } from '../../src/agent/prompts';
import { defaultPython } from '../../src/paths';
import { BENCH_TASKS } from './cluster';

const TEMPLATE = join(BENCH_TASKS, 'workspace_templates', 'sleep', 'sleep.py');

async function chat(baseUrl: string, system: string, user: string): Promise<string> {
  const res = await fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'scripted',
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: user },
      ],
    }),
  });
  if (!res.ok) throw new Error(`scripted model answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { choices: { message: { content: string } }[] };
  return body.choices[0].message.content;
}

/** Applies one SEARCH/REPLACE block of the scripted coder's reply. */
function applyEdit(code: string, reply: string): string {
  const m = /<<<<<<< SEARCH\n([\s\S]*?)\n=======\n([\s\S]*?)\n>>>>>>> REPLACE/.exec(reply);
  if (!m || !code.includes(m[1])) throw new Error('naive loop: the edit does not apply');
  return code.replace(m[1], m[2]);
}

export interface NaiveRunOptions {
  modelUrl: string;
  dir: string;
  iterations: number;
  sleepS: number;
  spansFile: string;
  tag: string;
  executeRoot: boolean;
}

/** One run of the naive loop; returns the best score. */
export async function naiveRun(o: NaiveRunOptions): Promise<number> {
  let code = readFileSync(TEMPLATE, 'utf8');
  let best = Infinity;
  const execute = async (version: number) => {
    const dir = join(o.dir, `v_${version}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'sleep.py'), code);
    const res = await execa(defaultPython(), ['sleep.py'], {
      cwd: dir,
      reject: false,
      env: { SLEEP_S: String(o.sleepS), BENCH_SPANS_FILE: o.spansFile, BENCH_TAG: o.tag },
      extendEnv: false,
    });
    const score = Number(/^score: ([\d.]+)/m.exec(res.stdout)?.[1]);
    if (score < best) best = score;
    return res.stdout;
  };
  if (o.executeRoot) await execute(0);
  for (let i = 1; i <= o.iterations; i++) {
    const idea = await chat(o.modelUrl, rolePrompt('ideator'), code);
    code = applyEdit(code, await chat(o.modelUrl, rolePrompt('coder'), `${idea}\n${code}`));
    const log = await execute(i);
    await chat(o.modelUrl, rolePrompt('summarizer'), log);
  }
  return best;
}
