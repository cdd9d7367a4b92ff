// This library on the filesystem source. The backend comes from DOWNLOADVIEW_BACKEND (direct when
// unset); BENCH_FS_IO=threadpool measures the io mode that `'auto'` does not pick on a local disk.
import { downloadHandler, filesystem } from 'next-downloadview';
import { mediaRoot } from '../../media';

export const runtime = 'nodejs';

export const { GET, HEAD } = downloadHandler({
  source: filesystem({ root: mediaRoot, io: process.env.BENCH_FS_IO === 'threadpool' ? 'threadpool' : 'auto' }),
});
