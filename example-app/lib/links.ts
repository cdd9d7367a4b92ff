// One signedLinks() for the whole app: the share form signs with it, proxy.ts and the routes verify.
// The secret comes from DOWNLOADVIEW_SECRET (npm run example creates one in .data/ on first run).
import { signedLinks } from 'next-downloadview';

export const links = signedLinks();

/** How long a shared link lasts. */
export const SHARE_SECONDS = 60;
