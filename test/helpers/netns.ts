/**
 * Hosts for multi-host tests: Linux network namespaces joined by a bridge, each with its
 * own address in 10.77.0.0/24. The bridge lives in a namespace of its own too, so nothing
 * is added to the machine's own network (no address, route or link outside the
 * namespaces this creates). Needs root (CAP_NET_ADMIN) and iproute2.
 *
 *   const net = await createHostNetwork(['n1', 'n2', 'n3', 'client']);
 *   net.hosts[0].address                      // '10.77.0.11'
 *   spawn('ip', ['netns', 'exec', net.hosts[0].ns, ...])
 *   net.cut(net.hosts[0]);  net.restore(net.hosts[0]);   // its link down / up
 *   net.destroy();                            // deletes every namespace (and with them the links)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface Host {
  readonly name: string;
  /** The network namespace the host's processes run in. */
  readonly ns: string;
  readonly address: string;
}

export interface HostNetwork {
  readonly hosts: readonly Host[];
  cut(host: Host): void;
  restore(host: Host): void;
  destroy(): void;
}

const SUBNET = '10.77.0';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Why namespaces cannot be made here, or undefined when they can (tried, then removed). */
export function netnsUnavailable(): string | undefined {
  const probe = `cairn-probe-${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'delete', probe);
    return undefined;
  } catch (err) {
    return `cannot create network namespaces (needs root and iproute2): ${(err as Error).message.split('\n')[0]}`;
  }
}

export function createHostNetwork(names: readonly string[]): HostNetwork {
  const tag = randomBytes(3).toString('hex');
  const bridgeNs = `cairn-${tag}-br`;
  const created: string[] = [];
  const destroy = (): void => {
    for (const ns of created.reverse()) {
      try {
        ip('netns', 'delete', ns);
      } catch {
        // already gone
      }
    }
    created.length = 0;
  };
  try {
    ip('netns', 'add', bridgeNs);
    created.push(bridgeNs);
    ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', bridgeNs, 'link', 'set', 'br0', 'up');
    const hosts = names.map((name, i): Host => {
      const ns = `cairn-${tag}-${name}`;
      const address = `${SUBNET}.${11 + i}`;
      ip('netns', 'add', ns);
      created.push(ns);
      // eth0 in the host's namespace, its peer p<i> on the bridge.
      ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', bridgeNs);
      ip('-n', bridgeNs, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      return { name, ns, address };
    });
    return {
      hosts,
      cut: (host) => ip('-n', host.ns, 'link', 'set', 'eth0', 'down'),
      restore: (host) => ip('-n', host.ns, 'link', 'set', 'eth0', 'up'),
      destroy,
    };
  } catch (err) {
    destroy();
    throw err;
  }
}
