// This library on the filesystem source. The backend comes from DOWNLOADVIEW_BACKEND (direct when
// unset), as in an application.
import { downloadHandler, filesystem } from 'next-downloadview';
import { mediaRoot } from '../../media';

export const runtime = 'nodejs';

export const { GET, HEAD } = downloadHandler({ source: filesystem({ root: mediaRoot }) });
