// The agentic coder's tools, as plain functions over a version in the store. Each takes the working
// snapshot (a hash) and returns the next one, so a tool call is idempotent and can be retried.
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { RunConfig } from '../config/schema';
import { EditError } from '../edits/edit-error';
import { applyEditBlocks } from '../edits/search-replace';
import { taskPython } from '../exec/task-env';
import type { ToolSpec } from '../llm/types';
import type { ArtifactStore } from '../store/artifact-store';

const str = (description: string) => ({ type: 'string', description });
const object = (properties: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

export const AGENT_TOOLS: ToolSpec[] = [
  {
    name: 'read_file',
    description: 'Read one file of the current version.',
    parameters: object({ path: str('path relative to the version root') }, ['path']),
  },
  {
    name: 'search',
    description:
      'Search the files of the current version for a regular expression; returns matching lines as path:line: text.',
    parameters: object({ pattern: str('a JavaScript regular expression') }, ['pattern']),
  },
  {
    name: 'apply_edit',
    description:
      'Replace one exact piece of a file you may edit (SEARCH/REPLACE). `search` must match the current file; an empty `search` writes an empty or new file.',
    parameters: object(
      {
        path: str('file to edit'),
        search: str('lines copied exactly from the current file'),
        replace: str('the new lines'),
      },
      ['path', 'search', 'replace'],
    ),
  },
  {
    name: 'check',
    description:
      'Compile every Python file you may edit (python -m py_compile) to catch syntax errors before finishing.',
    parameters: object({}, []),
  },
  {
    name: 'finish',
    description: 'End the work: the current version is the result.',
    parameters: object({ summary: str('one line on what was changed') }, []),
  },
];

export interface ToolOutcome {
  snapshot: string;
  /** What the model is told. */
  output: string;
  ok: boolean;
}

const MAX_READ_CHARS = 40_000;
const MAX_SEARCH_HITS = 60;

export async function runTool(
  store: ArtifactStore,
  config: RunConfig,
  snapshot: string,
  name: string,
  args: Record<string, unknown>,
): Promise<ToolOutcome> {
  const fail = (output: string): ToolOutcome => ({ snapshot, output, ok: false });
  if (typeof args._unparsed === 'string')
    return fail(`the arguments are not valid JSON: ${args._unparsed.slice(0, 200)}`);
  const { fnames } = config.task;
  switch (name) {
    case 'read_file': {
      const path = String(args.path ?? '');
      const files = await store.readSnapshotFiles(snapshot, [path]);
      if (!(path in files))
        return fail(
          `no file ${path}; the version has: ${Object.keys((await store.getSnapshot(snapshot)).files).join(', ')}`,
        );
      const text = files[path];
      return {
        snapshot,
        ok: true,
        output:
          text.length > MAX_READ_CHARS
            ? `${text.slice(0, MAX_READ_CHARS)}\n[… ${text.length - MAX_READ_CHARS} more characters]`
            : text,
      };
    }
    case 'search': {
      let re: RegExp;
      try {
        re = new RegExp(String(args.pattern ?? ''));
      } catch (err) {
        return fail(`invalid pattern: ${(err as Error).message}`);
      }
      const files = await store.readSnapshotFiles(snapshot);
      const hits = Object.entries(files).flatMap(([path, text]) =>
        text.split('\n').flatMap((line, i) => (re.test(line) ? [`${path}:${i + 1}: ${line}`] : [])),
      );
      return {
        snapshot,
        ok: true,
        output: hits.length
          ? hits.slice(0, MAX_SEARCH_HITS).join('\n') +
            (hits.length > MAX_SEARCH_HITS ? `\n[… ${hits.length - MAX_SEARCH_HITS} more]` : '')
          : 'no match',
      };
    }
    case 'apply_edit': {
      const block = {
        path: String(args.path ?? ''),
        search: String(args.search ?? ''),
        replace: String(args.replace ?? ''),
        block: 0,
      };
      const files = await store.readSnapshotFiles(snapshot, fnames);
      try {
        const versionPaths = Object.keys((await store.getSnapshot(snapshot)).files);
        const changed = applyEditBlocks(files, [block], {
          fnames,
          allowNewFiles: config.task.allow_new_files,
          versionPaths,
        });
        return {
          snapshot: await store.deriveSnapshot(snapshot, changed),
          ok: true,
          output: `edit applied to ${Object.keys(changed).join(', ')}`,
        };
      } catch (err) {
        if (err instanceof EditError) return fail(`edit not applied: ${err.message}`);
        throw err;
      }
    }
    case 'check':
      return { snapshot, ...(await compileCheck(store, config, snapshot)) };
    default:
      return fail(`unknown tool ${name}; the tools are ${AGENT_TOOLS.map((t) => t.name).join(', ')}`);
  }
}

/** `python -m py_compile` on the editable .py files of a materialized copy, in an environment built from nothing. */
export async function compileCheck(
  store: ArtifactStore,
  config: RunConfig,
  snapshot: string,
): Promise<{ ok: boolean; output: string }> {
  const py = config.task.fnames.filter((f) => f.endsWith('.py'));
  if (py.length === 0) return { ok: true, output: 'no Python file to check' };
  const dir = await mkdtemp(join(tmpdir(), 'speedrunner-check-'));
  try {
    await store.materialize(snapshot, join(dir, 'v'));
    const python = taskPython(config.task);
    const res = await execa(python, ['-m', 'py_compile', ...py], {
      cwd: join(dir, 'v'),
      env: {
        PATH: [dirname(python), '/usr/bin', '/bin'].join(':'),
        HOME: dir,
        LANG: 'C.UTF-8',
        PYTHONPYCACHEPREFIX: join(dir, 'pycache'),
      },
      extendEnv: false,
      reject: false,
      all: true,
      timeout: 60_000,
    });
    if (res.exitCode === 0) return { ok: true, output: `check passed: ${py.join(', ')} compile` };
    return {
      ok: false,
      output: `check failed (py_compile exit ${res.exitCode}):\n${String(res.all ?? '').slice(-3000)}`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
