// Lets plain `node` run the TypeScript harness (and test/helpers/*.ts) without a build step:
// `node --import ./bench/ts-loader.mjs bench/run.ts`. Node 20 cannot strip types itself and tsx is
// not a dependency, so each .ts module is transpiled in place with the project's own `typescript`
// (no type check here: scripts/bench.sh runs `tsc -p bench` first). Modules keep their real
// file URLs, so helpers that locate the repository from import.meta.url keep working.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
