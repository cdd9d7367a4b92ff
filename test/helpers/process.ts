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
