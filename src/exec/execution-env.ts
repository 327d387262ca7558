import { dirname, join } from 'node:path';
import type { RunConfig } from '../config/schema';
import type { TaskConfig } from '../config/task';

/**
 * The whole environment of agent-written code (training and the task's eval): built from nothing, so
 * no API key or Temporal credential of the worker can reach it.
 */
export function executionEnv(
  task: TaskConfig,
  data: RunConfig['data'],
  python: string,
  scratch: string,
  devices: string[],
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: [dirname(python), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    HOME: scratch,
    TMPDIR: join(scratch, '.tmp'),
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    CUDA_VISIBLE_DEVICES: devices.join(','),
    NANOGPT_VAL_TOKENS: String(data.val_tokens),
    ...task.env,
  };
  if (data.train_files) env.NANOGPT_TRAIN_FILES = data.train_files;
  if (data.val_files) env.NANOGPT_VAL_FILES = data.val_files;
  return env;
}
