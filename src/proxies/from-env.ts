/**
 * Backend selection from the environment, so one route file runs in development, on Vercel and
 * behind any proxy. Only configuration is read here, never request headers (CVE-2025-61780).
 */
import { invalidOption } from '../errors.js';
import { apache } from './apache.js';
import { none, type ProxyBackend } from './backend.js';
import { caddy } from './caddy.js';
import { lighttpd } from './lighttpd.js';
import { nginx } from './nginx.js';
import { redirect } from './redirect.js';
import { parseRulesText } from './rules.js';

export interface BackendEnv {
  DOWNLOADVIEW_BACKEND?: string;
  DOWNLOADVIEW_RULES?: string;
  DOWNLOADVIEW_APACHE_ENCODING?: string;
  DOWNLOADVIEW_REDIRECT_PUBLIC?: string;
}

/** `DOWNLOADVIEW_BACKEND=nginx|apache|lighttpd|caddy|redirect|none`, `DOWNLOADVIEW_RULES='/srv/media=/_protected/media'`. */
export function backendFromEnv(env: BackendEnv = process.env): ProxyBackend {
  const name = (env.DOWNLOADVIEW_BACKEND ?? '').trim().toLowerCase();
  // Read only by the backends that use it: a leftover bad value must not stop an app that runs
  // without a proxy (`none`) from loading.
  const readRules = () => {
    const rulesText = env.DOWNLOADVIEW_RULES?.trim();
    return rulesText ? parseRulesText(rulesText) : undefined;
  };
  switch (name) {
    case '':
    case 'none':
      return none();
    case 'nginx': {
      // `none`: an app whose files are all remote (blob, URL); unset stays a mistake worth naming.
      if (env.DOWNLOADVIEW_RULES?.trim().toLowerCase() === 'none') return nginx({});
      const rules = readRules();
      if (!rules) invalidOption('DOWNLOADVIEW_RULES', 'is required with DOWNLOADVIEW_BACKEND=nginx (e.g. /srv/media=/_protected/media, or none when every file is remote)');
      return nginx({ rules });
    }
    case 'apache': {
      const encoding = env.DOWNLOADVIEW_APACHE_ENCODING?.trim() || 'raw';
      if (encoding !== 'raw' && encoding !== 'percent') invalidOption('DOWNLOADVIEW_APACHE_ENCODING', 'must be raw or percent');
      return apache({ rules: readRules(), encoding });
    }
    case 'lighttpd':
      return lighttpd({ rules: readRules() });
    case 'caddy':
      return caddy({ rules: readRules() });
    case 'redirect': {
      const allowPublic = env.DOWNLOADVIEW_REDIRECT_PUBLIC?.trim() || '0';
      if (allowPublic !== '0' && allowPublic !== '1') invalidOption('DOWNLOADVIEW_REDIRECT_PUBLIC', 'must be 0 or 1');
      return redirect({ public: allowPublic === '1' });
    }
    default:
      return invalidOption('DOWNLOADVIEW_BACKEND', `must be one of nginx, apache, lighttpd, caddy, redirect, none (got "${name}")`);
  }
}
