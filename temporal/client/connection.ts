import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { defaultPort } from './dev-server';
import { dataConverter } from './payload-codec';

/**
 * Where to connect: with TEMPORAL_ADDRESS (or a TEMPORAL_PROFILE / config file) set, a cluster
 * described by Temporal's environment-configuration conventions; otherwise the embedded dev server.
 */
export function usesExternalCluster(env = process.env): boolean {
  return Boolean(env.TEMPORAL_ADDRESS || env.TEMPORAL_PROFILE || env.TEMPORAL_CONFIG_FILE);
}

/**
 * Connection settings for the CLI and both workers alike: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS* and profiles (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE,
 * ~/.config/temporalio/temporal.toml), read by @temporalio/envconfig. An API key turns TLS on unless
 * TEMPORAL_TLS=false. The key stays in this process: it is never written to a config, log or history.
 */
export function connectConfig() {
  if (usesExternalCluster()) {
    const { connectionOptions, namespace } = loadClientConnectConfig();
    return { connectionOptions, namespace: namespace ?? 'default' };
  }
  return { connectionOptions: { address: `127.0.0.1:${defaultPort()}` }, namespace: 'default' };
}

/** The target in words, for messages: address, namespace and how it authenticates (never the key itself). */
export function describeTarget(): string {
  const { connectionOptions: c, namespace } = connectConfig();
  const auth = [c.apiKey ? 'API key' : '', c.tls ? 'TLS' : ''].filter(Boolean).join(', ');
  return `${c.address ?? 'localhost:7233'} (namespace ${namespace}${auth ? `; ${auth}` : ''})`;
}

/** Says where it tried to connect and which settings choose that, instead of a bare gRPC error. */
async function explainFailure<T>(connecting: Promise<T>): Promise<T> {
  return connecting.catch((err) => {
    const how = usesExternalCluster()
      ? 'check TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY / TEMPORAL_TLS* or your TEMPORAL_PROFILE'
      : 'start it with `speedrunner server start`, or set TEMPORAL_ADDRESS for a cluster';
    throw new Error(`cannot connect to Temporal at ${describeTarget()}: ${(err as Error).message} — ${how}`);
  });
}

/** A client connection and its namespace, for the operator and workflow services directly. */
export async function connectClientConnection() {
  const { connectionOptions, namespace } = connectConfig();
  const connection = await explainFailure(
    Connection.connect(connectionOptions as Parameters<typeof Connection.connect>[0]),
  );
  return { connection, namespace };
}

export async function connectClient(): Promise<Client> {
  const { connection, namespace } = await connectClientConnection();
  return new Client({ connection, namespace, dataConverter });
}

export async function connectWorkerConnection() {
  const { connectionOptions, namespace } = connectConfig();
  return { connection: await explainFailure(NativeConnection.connect(connectionOptions)), namespace };
}
