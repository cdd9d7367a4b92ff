// What every download route of the example shares: who may download, and the audit log fed by
// the onDownload lifecycle hook.
import { filesystem, type Authorize, type DownloadEvent } from 'next-downloadview';
import { mediaRoot } from './config';
import { recordDownload } from './db';
import { currentUser } from './session';
import { mayRead } from './users';

/** The files on disk. Each route picks a source; the Blob and URL ones are in ./remote.ts. */
export const media = filesystem({ root: mediaRoot });

/**
 * Signed-in users get their own folder and the shared one; anyone else is asked to sign in.
 * `keyOf` names the file being asked for (the target's key, unless that is an upstream URL).
 */
export const signedInMayRead =
  (keyOf: (request: Request, target: Parameters<Authorize>[1]) => string): Authorize =>
  async (request, target) => {
    const user = await currentUser(request);
    if (!user) return 'unauthenticated';
    const key = keyOf(request, target);
    return mayRead(user, key) || { refuse: 'forbidden', reason: `${user.id} may not read ${key}` };
  };

export const ownFilesOnly: Authorize = signedInMayRead((request, target) => target.key);

/** The onDownload hook: one row per answered request (the page shows the latest), one log line. */
export async function audit(event: DownloadEvent): Promise<void> {
  const url = new URL(event.request.url);
  const user = (await currentUser(event.request))?.id ?? (url.searchParams.has('signature') ? 'shared link' : 'anonymous');
  const path = decodeURIComponent(url.pathname);
  const handOff = event.offload ? ` (offloaded to ${event.offload.backend})` : '';
  console.log(`[download] ${user} ${path} ${event.outcome} ${event.status} ${event.bytesSent} bytes${handOff}${event.reason ? ` ${event.reason}` : ''}`);
  await recordDownload({ at: new Date().toISOString(), user, path, outcome: event.outcome, status: event.status, bytes: event.bytesSent });
}
