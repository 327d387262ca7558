#!/usr/bin/env node
// Prebuilds the CLI: app/cli/main.ts and our sources bundled into ESM under dist/cli-<digest>/, so a
// CLI call loads plain JavaScript instead of paying tsx's start-up and transpiling. npm packages stay
// outside the bundle (native code, the Temporal SDK's own workflow bundler, lazily imported workers).
// Rebuilt only when a source file changed: the digest of the sources is stamped beside the bundle.
// `node scripts/build-cli.mjs --check` prints whether the bundle is current (exit 1 if not).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
/** Names the current build: `{ digest, entry }`, entry relative to dist/. */
export const STAMP = join(dist, 'cli.json');
/** What the CLI is built from; tests and the workflow bundle read the .ts sources directly either way. */
const SOURCE_DIRS = ['app', 'core', 'src', 'temporal'];
const INPUTS = ['package.json', 'package-lock.json', 'scripts/build-cli.mjs'];

/**
 * A fingerprint of the sources from their paths, sizes and modification times: cheap enough
 * (stat only, no reads) that bin/speedrunner.js checks it on every call, so an edited source
 * never runs as its stale bundled copy.
 */
export function sourceDigest() {
  const h = createHash('sha256');
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|js|mjs|cjs|json)$/.test(entry.name)) {
        const st = statSync(full);
        h.update(`${full}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(root, dir));
  for (const f of INPUTS) {
    const full = join(root, f);
    const st = existsSync(full) ? statSync(full) : undefined;
    h.update(`${full}\0${st?.size}\0${st?.mtimeMs}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

/** The bundle's entry file when it was built from the sources as they are now, else undefined. */
export function currentBundle(digest = sourceDigest()) {
  try {
    const stamp = JSON.parse(readFileSync(STAMP, 'utf8'));
    const entry = join(dist, stamp.entry);
    return stamp.digest === digest && existsSync(entry) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Packages that cost the most to load and that our code only uses inside functions (LLM SDKs, S3,
 * the worker runtime): the bundle gets a stand-in module whose exports load the package on first
 * use. `--help`, `status` and the like never pay for them. Each export is a Proxy over the real
 * value (calls, `new`, `instanceof`, static members all reach it). An import of a name the
 * package does not export as a function or object fails the build, not a run.
 */
const LAZY_PACKAGES = [
  '@anthropic-ai/sdk',
  'openai',
  '@aws-sdk/client-s3',
  '@temporalio/worker',
  '@temporalio/activity',
];
const IDENT = /^[A-Za-z_$][\w$]*$/;

export function lazyModule(pkg) {
  const mod = createRequire(join(root, 'package.json'))(pkg);
  const keys = Object.keys(mod).filter(
    (k) => k !== 'default' && IDENT.test(k) && ['function', 'object'].includes(typeof mod[k]) && mod[k] !== null,
  );
  const def = mod.__esModule ? mod.default : mod;
  return [
    "import { createRequire } from 'node:module';",
    'const load = ((r, m) => () => (m ??= r(' + JSON.stringify(pkg) + ')))(createRequire(import.meta.url));',
    'const lazy = (get, callable) => new Proxy(callable ? function () {} : {}, {',
    '  get: (_, k) => Reflect.get(get(), k),',
    '  set: (_, k, v) => Reflect.set(get(), k, v),',
    '  has: (_, k) => Reflect.has(get(), k),',
    '  getPrototypeOf: () => Reflect.getPrototypeOf(get()),',
    '  apply: (_, self, args) => Reflect.apply(get(), self, args),',
    '  construct: (_, args, target) => Reflect.construct(get(), args, target),',
    '});',
    ...keys.map(
      (k) => `export const ${k} = lazy(() => load()[${JSON.stringify(k)}], ${typeof mod[k] === 'function'});`,
    ),
    def !== undefined && def !== null
      ? `export default lazy(() => (load().__esModule ? load().default : load()), ${typeof def === 'function'});`
      : '',
  ].join('\n');
}

const lazyPackages = {
  name: 'lazy-packages',
  setup(build) {
    const filter = new RegExp(`^(${LAZY_PACKAGES.map((p) => p.replace(/[/.]/g, '\\$&')).join('|')})$`);
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'lazy-package' }));
    build.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (args) => ({
      contents: lazyModule(args.path),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * Deep imports of packages with no `exports` map (`@temporalio/common/lib/time`) resolve under
 * tsx's CommonJS-style lookup but not under Node's ESM loader; the bundle names the real file.
 */
const esmSubpaths = {
  name: 'esm-subpaths',
  setup(build) {
    const require = createRequire(join(root, 'package.json'));
    const base = pathToFileURL(join(root, 'package.json')).href;
    build.onResolve({ filter: /^(@[^/]+\/)?[^./][^/]*\/./ }, (args) => {
      try {
        // Node 20 answers a URL even for a file that is not there; only an existing file counts.
        const url = import.meta.resolve(args.path, base);
        if (!url.startsWith('file:') || existsSync(fileURLToPath(url))) return { path: args.path, external: true };
      } catch {
        /* not resolvable as written: try the spellings below */
      }
      for (const ext of ['.js', '/index.js']) {
        try {
          require.resolve(args.path + ext);
          return { path: args.path + ext, external: true };
        } catch {
          /* try the next spelling */
        }
      }
      return { path: args.path, external: true };
    });
  },
};

/**
 * Our modules locate files next to themselves (`import.meta.url`: the repository root, the report's
 * client scripts). In the bundle each keeps its own source file's URL, relative to the bundle, so
 * paths mean what they mean under tsx wherever the chunk lands.
 */
const ownUrls = (outdir) => ({
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes(`${join(root, 'node_modules')}`)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = relative(outdir, args.path).split(sep).join('/');
      return {
        contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`),
        loader: 'ts',
      };
    });
  },
});

export async function buildCli({ force = false } = {}) {
  const digest = sourceDigest();
  if (!force && currentBundle(digest)) return { built: false, digest };
  const { build } = await import('esbuild');
  // Each build gets its own folder: a process still running an older build loads its lazy chunks
  // from a folder nobody rewrites. Chunks sit two levels under the root, whatever the digest.
  const name = `cli-${digest}`;
  const tmp = join(dist, `.${name}.${process.pid}.tmp`);
  await build({
    entryPoints: { cli: join(root, 'app', 'cli', 'main.ts') },
    bundle: true,
    splitting: true, // dynamic imports (worker code) stay lazy chunks
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    plugins: [lazyPackages, esmSubpaths, ownUrls(join(dist, name))],
    outdir: tmp,
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  });
  rmSync(join(dist, name), { recursive: true, force: true });
  renameSync(tmp, join(dist, name));
  const stampTmp = `${STAMP}.${process.pid}.tmp`;
  writeFileSync(stampTmp, JSON.stringify({ digest, entry: `${name}/cli.mjs`, built_at: new Date().toISOString() }));
  renameSync(stampTmp, STAMP);
  // Builds older than a day are no one's any more.
  for (const old of readdirSync(dist)) {
    const full = join(dist, old);
    if (old.startsWith('cli-') && old !== name && Date.now() - statSync(full).mtimeMs > 86_400_000)
      rmSync(full, { recursive: true, force: true });
  }
  return { built: true, digest };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const ok = currentBundle() !== undefined;
    console.log(ok ? 'the CLI bundle is current' : 'the CLI bundle is missing or stale');
    process.exit(ok ? 0 : 1);
  }
  const started = Date.now();
  const { built, digest } = await buildCli({ force: process.argv.includes('--force') });
  console.error(
    `[build-cli] ${built ? `built the CLI bundle (dist/cli-${digest}/) in ${Date.now() - started} ms` : 'the CLI bundle is current'}`,
  );
}
