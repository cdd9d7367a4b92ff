// toWeb(createReadStream()) at Node's default 64 KiB chunks.
import { toWebResponse } from '../../toweb';

export const runtime = 'nodejs';

export async function GET(request: Request, { params }: { params: Promise<{ path?: string[] }> }) {
  return toWebResponse((await params).path);
}
