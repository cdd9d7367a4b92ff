// toWeb(createReadStream()) at the library's 256 KiB chunks: the comparison at equal chunk size.
import { toWebResponse } from '../../toweb';

export const runtime = 'nodejs';

export async function GET(request: Request, { params }: { params: Promise<{ path?: string[] }> }) {
  return toWebResponse((await params).path, 256 * 1024);
}
