// This library on a virtual source: the same 1 KiB, from memory.
import { downloadHandler, virtual } from 'next-downloadview';
import { smallBody } from '../media';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export const { GET, HEAD } = downloadHandler({ source: virtual(() => ({ name: '1k.bin', body: smallBody() })) });
