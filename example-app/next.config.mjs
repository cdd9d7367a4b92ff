import { appConfig } from '../next.config.mjs';

// sql.js is loaded by Node itself, so it finds its .wasm file next to its own code.
export default appConfig({ serverExternalPackages: ['sql.js'] });
