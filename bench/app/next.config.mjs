// Benchmark app: every Next.js target of `npm run bench`, built once and started per target.
import { appConfig } from '../../next.config.mjs';

export default appConfig();
