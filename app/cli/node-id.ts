import { ConfigError } from '../../src/config/load';

/** A node id as the operator writes it: `2`, or `v_2` as every output names versions. */
export function parseNodeId(raw: string, what = 'a node id'): number {
  const m = /^(?:v_?)?(\d+)$/i.exec(String(raw).trim());
  if (!m) throw new ConfigError(`${what} is a version number like 2 or v_2, not '${raw}'`);
  return Number(m[1]);
}
