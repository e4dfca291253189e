import type { RedisSentinelHandle } from '../harness';

/** Connections with our client name on every live data node and sentinel. */
export async function openConnections(
  topology: RedisSentinelHandle,
  name: string,
): Promise<number> {
  let open = 0;
  for (const node of [...topology.dataNodes(), ...topology.sentinels()]) {
    if (!node.running || node.frozen) continue;
    const list = await node.cli('CLIENT', 'LIST');
    open += list.split('\n').filter((line) => line.includes(` name=${name} `)).length;
  }
  return open;
}

/**
 * Nothing left open after `disconnect()`: no connection named `name` on any data node or sentinel (sentinel
 * connections carry the name too), allowing a moment for the server to see the closes.
 */
export async function expectNothingOpen(
  topology: RedisSentinelHandle,
  name: string,
): Promise<void> {
  let open = await openConnections(topology, name);
  for (let i = 0; i < 20 && open > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    open = await openConnections(topology, name);
  }
  expect(open).toBe(0);
}
