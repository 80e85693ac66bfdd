// Writes the ESM entry point beside tsc's CommonJS output. The ESM file re-exports the CJS
// module (Node detects tsc's named exports statically), so there is one copy of every class
// and both `import` and `require` users share the same native handles.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dist = new URL('../dist/', import.meta.url);
const names = Object.keys(require('../dist/index.js')).filter((n) => n !== 'default' && n !== '__esModule');
const lines = names.map((n) => `export const ${n} = cjs.${n};`);
writeFileSync(
  new URL('index.mjs', dist),
  `import cjs from './index.js';\n${lines.join('\n')}\nexport default cjs;\n`,
);
writeFileSync(new URL('index.d.mts', dist), `export * from './index.js';\nimport * as all from './index.js';\nexport default all;\n`);
