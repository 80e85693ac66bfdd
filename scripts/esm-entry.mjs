// Writes the ESM entry point beside tsc's CommonJS output. It re-exports the CJS module, so there
// is one copy of every class and `import` and `require` users share the same native handles.
// The named exports are listed - the value exports that dist/index.d.ts declares, read with the
// TypeScript API - rather than `export *`, which would also export tsc's `__esModule` marker;
// `default` is the whole module, declared as such in index.d.mts. So the ESM entry exports
// exactly what its types say (test/esm-entry.test.ts). Nothing here loads the addon, so a
// sanitizer build or a missing build cannot break it.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const dist = new URL('../dist/', import.meta.url);

/** Names of the values (not types) a declaration file exports. */
function valueExports(declarationFile) {
  const program = ts.createProgram([declarationFile], { noEmit: true, skipLibCheck: true, types: [] });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(declarationFile));
  return checker
    .getExportsOfModule(module)
    .filter((symbol) => {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      return (target.flags & ts.SymbolFlags.Value) !== 0;
    })
    .map((symbol) => symbol.name)
    .sort();
}

const names = valueExports(fileURLToPath(new URL('index.d.ts', dist)));
writeFileSync(
  new URL('index.mjs', dist),
  `import crftb from './index.js';\nexport {\n${names.map((n) => `  ${n},`).join('\n')}\n} from './index.js';\nexport default crftb;\n`,
);
writeFileSync(
  new URL('index.d.mts', dist),
  // Under esModuleInterop a namespace import of CommonJS types gains a synthetic `default`; the
  // runtime object has none.
  "import * as crftb from './index.js';\nexport * from './index.js';\n" +
    "declare const crftbModule: Omit<typeof crftb, 'default'>;\nexport default crftbModule;\n",
);
