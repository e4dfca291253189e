import { BlockList, isIP } from 'node:net';

import { ClusterAddressError } from '../errors/redis-pool.errors';
import { lookUpNat, type NatMap } from '../utils/nat-map';
import { nodeKey, type NodeAddress } from './cluster-topology';

/** Host names that mean this machine. */
const LOOPBACK_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost']);

/**
 * Which node addresses learned from the network a cluster pool may connect to (and send credentials to). The
 * seeds' networks are allowed, and so is whatever `allowedHosts` lists or `natMap` maps:
 * - an IPv4 seed allows its /24 (`10.0.3.17` allows `10.0.3.0`-`10.0.3.255`), an IPv6 seed its /64;
 * - a loopback seed (`127.0.0.0/8`, `::1`, `localhost`) allows every loopback address;
 * - a host-name seed allows itself and its sibling names: `redis-1.prod.example.com` allows
 *   `*.prod.example.com` (a name of one or two labels allows only itself).
 */
export class AddressPolicy {
  private readonly subnets = new BlockList();
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly any: boolean;

  constructor(
    seeds: readonly NodeAddress[],
    allowedHosts: readonly string[],
    private readonly natMap: NatMap | undefined,
  ) {
    this.any = allowedHosts.includes('*');
    for (const seed of seeds) this.allowSeed(seed.host);
    for (const entry of allowedHosts) this.allowEntry(entry);
  }

  /**
   * What is wrong with an `allowedHosts` option, or `undefined` when it is fine: a list of host names, IP
   * addresses, CIDR ranges (`10.0.0.0/8`, `fd00::/8`), domain suffixes (`.example.com` or `*.example.com`) or
   * `'*'` (any address).
   */
  static problem(allowedHosts: unknown): string | undefined {
    if (allowedHosts === undefined) return undefined;
    if (!Array.isArray(allowedHosts)) return 'must be a list of hosts';
    for (const entry of allowedHosts as unknown[]) {
      if (
        typeof entry !== 'string' ||
        entry === '' ||
        /[\s/\\@]/.test(entry.replace(/\/\d+$/, ''))
      ) {
        return `entry ${JSON.stringify(entry)} must be a host, an IP address, a CIDR range or a domain suffix`;
      }
      const cidr = /^(.+)\/(\d+)$/.exec(entry);
      if (cidr !== null) {
        const family = isIP(cidr[1]);
        if (family === 0 || Number(cidr[2]) > (family === 4 ? 32 : 128)) {
          return `entry ${JSON.stringify(entry)} is not a valid CIDR range`;
        }
      }
    }
    return undefined;
  }

  /**
   * An announced address (a CLUSTER SHARDS / SLOTS entry, a MOVED or ASK target) as this process reaches it:
   * `natMap` applied, else the address itself when it is allowed.
   * @throws ClusterAddressError when it is neither mapped nor allowed: it must not be connected to.
   */
  resolve(announced: NodeAddress, source: string): NodeAddress {
    const { address, mapped } = lookUpNat(this.natMap, announced);
    if (mapped || this.allows(announced.host)) return address;
    throw new ClusterAddressError(
      `Refused cluster node ${nodeKey(announced)} (from ${source}): it is outside the seeds' networks; add it ` +
        'to allowedHosts or natMap to connect to it',
      nodeKey(announced),
    );
  }

  /** Whether `host` may be connected to without a `natMap` entry. */
  allows(host: string): boolean {
    if (this.any) return true;
    const name = unbracket(host).toLowerCase();
    const family = isIP(name);
    if (family !== 0) return this.subnets.check(name, family === 4 ? 'ipv4' : 'ipv6');
    if (LOOPBACK_NAMES.has(name) && this.subnets.check('127.0.0.1', 'ipv4')) return true;
    return this.hosts.has(name) || this.suffixes.some((suffix) => name.endsWith(suffix));
  }

  private allowSeed(host: string): void {
    const name = unbracket(host).toLowerCase();
    const family = isIP(name);
    if (LOOPBACK_NAMES.has(name) || isLoopback(name, family)) {
      this.subnets.addSubnet('127.0.0.0', 8, 'ipv4');
      this.subnets.addAddress('::1', 'ipv6');
      this.hosts.add(name);
    } else if (family === 4) {
      this.subnets.addSubnet(name, 24, 'ipv4');
    } else if (family === 6) {
      this.subnets.addSubnet(name, 64, 'ipv6');
    } else {
      this.hosts.add(name);
      const labels = name.split('.');
      if (labels.length >= 3) this.suffixes.push(`.${labels.slice(1).join('.')}`);
    }
  }

  private allowEntry(entry: string): void {
    if (entry === '*') return;
    const cidr = /^(.+)\/(\d+)$/.exec(entry);
    if (cidr !== null) {
      const family = isIP(cidr[1]);
      this.subnets.addSubnet(cidr[1], Number(cidr[2]), family === 4 ? 'ipv4' : 'ipv6');
      return;
    }
    const name = unbracket(entry).toLowerCase();
    const family = isIP(name);
    if (family !== 0) this.subnets.addAddress(name, family === 4 ? 'ipv4' : 'ipv6');
    else if (name.startsWith('*.')) this.suffixes.push(name.slice(1));
    else if (name.startsWith('.')) this.suffixes.push(name);
    else this.hosts.add(name);
  }
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function isLoopback(name: string, family: number): boolean {
  if (family === 4) return name.startsWith('127.');
  return family === 6 && (name === '::1' || name === '0:0:0:0:0:0:0:1');
}
