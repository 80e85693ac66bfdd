// Writes the ESM entry point beside tsc's CommonJS output. It re-exports the CJS module, whose
// named exports (including tsc's `__exportStar` re-exports) Node discovers statically, so there
// is one copy of every class and `import` and `require` users share the same native handles.
// Nothing here loads the addon, so a sanitizer build or a missing build cannot break it.
import { writeFileSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
writeFileSync(new URL('index.mjs', dist), "export * from './index.js';\nexport { default } from './index.js';\n");
writeFileSync(new URL('index.d.mts', dist), "export * from './index.js';\n");
