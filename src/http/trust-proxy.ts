import { BlockList, isIPv4 } from 'node:net';
import type { TrustProxy } from '../config.ts';

/** Where proxies in front of an app live: loopback, private (RFC 1918), unique-local (fc00::/7) and link-local ranges. */
function privateNetworks(): BlockList {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addSubnet('10.0.0.0', 8, 'ipv4');
  list.addSubnet('172.16.0.0', 12, 'ipv4');
  list.addSubnet('192.168.0.0', 16, 'ipv4');
  list.addSubnet('169.254.0.0', 16, 'ipv4');
  list.addAddress('::1', 'ipv6');
  list.addSubnet('fc00::', 7, 'ipv6');
  list.addSubnet('fe80::', 10, 'ipv6');
  return list;
}

const PRIVATE = privateNetworks();

/** Tells whether an address (IPv4, IPv6 or IPv4-mapped IPv6 such as ::ffff:10.0.0.5) is on a private network. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const plain = mapped ?? address;
  try {
    return PRIVATE.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
  } catch {
    return false; // not an IP address at all
  }
}

/**
 * Turns TRUST_PROXY into Fastify's `trustProxy` option. An address list passes through (proxy-addr checks each hop).
 * A hop count becomes a function trusting the `hops` nearest hops only when each is on a private network: Fastify 5
 * refuses bare hop counts because a client that reaches the app directly could then supply X-Forwarded-For itself
 * (Fastify docs, "trustProxy"). Requiring the trusted hop to be private keeps `TRUST_PROXY=1` meaning "the right-most
 * X-Forwarded-For address" behind nginx or a VPC load balancer, while a direct client from a public address is
 * never believed. A proxy with a public address (some cloud load balancers) must be listed by address/CIDR instead.
 * @example Fastify({ trustProxy: trustProxyOption(config.trustProxy) })
 */
export function trustProxyOption(trust: TrustProxy): false | string[] | ((address: string, hop: number) => boolean) {
  if (trust === false || trust === 0) return false;
  if (typeof trust === 'number') {
    const hops = trust;
    return (address, hop) => hop < hops && isPrivateAddress(address);
  }
  return [...trust];
}
