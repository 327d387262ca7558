// coder=aider: the real `aider` CLI, run once non-interactively on a materialized copy of the parent
// version, with the plan as its message and only `fnames` editable. The files it changed become the
// new version. The API key reaches aider through its environment only, never argv or logs.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { CodeResult } from '../agent/steps';
import type { ModelConfig } from '../config/schema';
import { NonRetryableLlmError } from '../llm/providers';
import { noUsage } from '../../core/usage';
import type { ArtifactStore } from '../store/artifact-store';
import { reviewChanges, type CodeInput } from './edit-loop';

export const AIDER_MISSING =
  'coder=aider needs the aider CLI (pip install aider-chat) on the PATH of the control worker; or choose coder=search_replace, whole_file or agent';

/** The aider executable on PATH (or `SPEEDRUNNER_AIDER`), if any. */
export function findAider(path = process.env.PATH ?? ''): string | undefined {
  if (process.env.SPEEDRUNNER_AIDER)
    return existsSync(process.env.SPEEDRUNNER_AIDER) ? process.env.SPEEDRUNNER_AIDER : undefined;
  return path
    .split(delimiter)
    .filter(Boolean)
    .map((d) => join(d, 'aider'))
    .find((p) => existsSync(p));
}

export interface AiderInvocation {
  argv: string[];
  env: Record<string, string>;
}

/**
 * aider's command line and environment for one coding step. `baseUrl` is the resolved endpoint (the
 * scripted server's for the scripted model); `key` the provider key read by the worker.
 */
export function aiderInvocation(opts: {
  model: ModelConfig;
  baseUrl?: string;
  key?: string;
  messageFile: string;
  historyDir: string;
  fnames: string[];
  home: string;
}): AiderInvocation {
  const { model } = opts;
  const anthropic = model.provider === 'anthropic';
  const argv = [
    '--model',
    `${anthropic ? 'anthropic' : 'openai'}/${model.model}`,
    ...(opts.baseUrl && !anthropic ? ['--openai-api-base', opts.baseUrl] : []),
    '--message-file',
    opts.messageFile,
    '--yes-always',
    '--no-git',
    '--no-auto-commits',
    '--no-stream',
    '--no-pretty',
    '--no-check-update',
    '--analytics-disable',
    '--no-show-model-warnings',
    '--map-tokens',
    '0',
    '--input-history-file',
    join(opts.historyDir, 'input.history'),
    '--chat-history-file',
    join(opts.historyDir, 'chat.history.md'),
    ...opts.fnames,
  ];
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: opts.home, LANG: 'C.UTF-8' };
  if (opts.key) env[anthropic ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY'] = opts.key;
  if (anthropic && opts.baseUrl) env.ANTHROPIC_API_BASE = opts.baseUrl;
  return { argv, env };
}

/** Runs aider on the parent version and stores what it changed in `fnames` as the new version. */
export async function codeWithAider(
  store: ArtifactStore,
  input: CodeInput,
  endpoint: { baseUrl?: string; key?: string },
  signal?: AbortSignal,
): Promise<CodeResult> {
  const aider = findAider();
  if (!aider) throw new NonRetryableLlmError(AIDER_MISSING);
  const { config, parent } = input;
  const { fnames } = config.task;
  const tmp = await mkdtemp(join(tmpdir(), 'speedrunner-aider-'));
  const work = join(tmp, 'work');
  const started = Date.now();
  try {
    await store.materialize(parent.snapshot!, work);
    const messageFile = join(tmp, 'plan.md');
    await writeFile(
      messageFile,
      [await store.getText(input.planRef), config.task.code_instructions].filter(Boolean).join('\n\n'),
    );
    const { argv, env } = aiderInvocation({
      model: config.model,
      ...endpoint,
      messageFile,
      historyDir: tmp,
      fnames,
      home: tmp,
    });
    const res = await execa(aider, argv, {
      cwd: work,
      env,
      extendEnv: false,
      reject: false,
      cancelSignal: signal,
      all: true,
      timeout: config.timeouts.llm_call_s * 1000,
    });
    const before = await store.readSnapshotFiles(parent.snapshot!, fnames);
    const changed: Record<string, string> = {};
    for (const f of fnames) {
      const after = await readFile(join(work, f), 'utf8').catch(() => '');
      if (after !== (before[f] ?? '')) changed[f] = after;
    }
    const usage = { ...noUsage(), calls: 1 }; // aider keeps its own token accounting
    if (Object.keys(changed).length === 0) {
      const output = String(res.all ?? '').slice(-500);
      const why =
        res.exitCode === 0
          ? 'aider made no change'
          : `aider exited with ${res.exitCode}: ${endpoint.key ? output.replaceAll(endpoint.key, '[redacted]') : output}`;
      return { error: why, attempts: 1, usage, llm_ms: Date.now() - started };
    }
    return {
      snapshot: await store.deriveSnapshot(parent.snapshot!, changed),
      ...reviewChanges(before, changed, input.config.data.val_tokens),
      attempts: 1,
      usage,
      llm_ms: Date.now() - started,
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
