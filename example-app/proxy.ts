// Malformed percent-encoding and encoded traversal in download URLs get a clear 400 here,
// before Next's router would answer them with its own 500.
import { downloadPathGuard } from 'next-downloadview/proxy';

export const proxy = downloadPathGuard();

export const config = { matcher: '/files/:path*' };
