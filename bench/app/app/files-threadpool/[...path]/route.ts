// The library with io 'threadpool', the mode 'auto' does not pick on a local disk: every
// filesystem call through libuv's threadpool.
import { downloadHandler, filesystem } from 'next-downloadview';
import { mediaRoot } from '../../media';

export const runtime = 'nodejs';

export const { GET, HEAD } = downloadHandler({ source: filesystem({ root: mediaRoot, io: 'threadpool' }) });
