import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { defaultPort } from './dev-server';

/**
 * Where to connect: with TEMPORAL_ADDRESS (or a TEMPORAL_PROFILE / config file) set, a cluster
 * described by Temporal's environment-configuration conventions; otherwise the embedded dev server.
 */
export function usesExternalCluster(env = process.env): boolean {
  return Boolean(env.TEMPORAL_ADDRESS || env.TEMPORAL_PROFILE || env.TEMPORAL_CONFIG_FILE);
}

export function connectConfig() {
  if (usesExternalCluster()) {
    const { connectionOptions, namespace } = loadClientConnectConfig();
    return { connectionOptions, namespace: namespace ?? 'default' };
  }
  return { connectionOptions: { address: `127.0.0.1:${defaultPort()}` }, namespace: 'default' };
}

export async function connectClient(): Promise<Client> {
  const { connectionOptions, namespace } = connectConfig();
  const connection = await Connection.connect(connectionOptions as Parameters<typeof Connection.connect>[0]);
  return new Client({ connection, namespace });
}

export async function connectWorkerConnection() {
  const { connectionOptions, namespace } = connectConfig();
  return { connection: await NativeConnection.connect(connectionOptions), namespace };
}
