/** The control task queue this process serves or submits to (workflow code takes it from the run config). */
export function controlQueue(env: NodeJS.ProcessEnv = process.env): string {
  return env.SPEEDRUNNER_TASK_QUEUE || 'speedrunner';
}
