/** Process inspection for leak checks (Linux /proc). */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** `pid` and all its descendants (next start may run the server in a child process). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const tree: number[] = [];
  const visit = (current: number): void => {
    tree.push(current);
    for (const child of children.get(current) ?? []) visit(child);
  };
  visit(pid);
  return tree;
}

/** Descriptors held by the process tree of `pid` on files under `prefix`. */
export function openFilesUnder(pid: number, prefix: string): number {
  let count = 0;
  for (const member of processTree(pid)) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${member}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${member}/fd/${fd}`).startsWith(prefix)) count += 1;
      } catch {
        // closed meanwhile
      }
    }
  }
  return count;
}

/**
 * Client endpoints (`ip:port`, hex as in /proc/net/tcp) of every TCP connection to local port
 * `port` still known to the kernel, TIME-WAIT included: the connections a server on `port`
 * accepted in the last minute or so. The side that closed first keeps the TIME-WAIT entry, so both
 * sides are read. Counting new ones across a batch of requests shows whether a client reused them.
 */
export function peersOfPort(port: number): Set<string> {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const peers = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[];
    try {
      lines = readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const [, local, remote] = line.trim().split(/\s+/);
      if (!local || !remote || remote.endsWith(':0000')) continue; // listening sockets
      if (local.endsWith(hexPort)) peers.add(remote); // the server's side
      else if (remote.endsWith(hexPort)) peers.add(local); // the client's side
    }
  }
  return peers;
}

/** Every descriptor (files, sockets, pipes) held by the process tree of `pid`. */
export function descriptorsOf(pid: number): number {
  let count = 0;
  for (const member of processTree(pid)) {
    try {
      count += readdirSync(`/proc/${member}/fd`).length;
    } catch {
      // exited meanwhile
    }
  }
  return count;
}

/** Resident memory (VmRSS) of the process tree of `pid`, in bytes. */
export function residentBytesOf(pid: number): number {
  let bytes = 0;
  for (const member of processTree(pid)) {
    try {
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${member}/status`, 'utf8'));
      bytes += match ? Number(match[1]) * 1024 : 0;
    } catch {
      // exited meanwhile
    }
  }
  return bytes;
}
