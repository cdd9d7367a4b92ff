import { appConfig } from '../next.config.mjs';

export default appConfig();
