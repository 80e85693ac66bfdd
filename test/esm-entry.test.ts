// The ESM entry (dist/index.mjs, written by scripts/esm-entry.mjs) exports at run time exactly
// what its declaration file (dist/index.d.mts) says: the same value names, a `default` that is
// the whole module (the very object `require('crftb')` gives), and no `__esModule`. The runtime
// side is read in a child process that imports the entry as an application would; the declared
// side with the TypeScript compiler API.
import t from 'tap';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import ts from 'typescript';

const dist = path.join(__dirname, '..', 'dist');
const entry = path.join(dist, 'index.mjs');
const declarations = path.join(dist, 'index.d.mts');

interface Runtime {
  names: string[];
  defaultKeys: string[];
  defaultIsRequire: boolean;
}

function runtimeExports(): Runtime {
  const script = `
    import { createRequire } from 'node:module';
    import * as entry from ${JSON.stringify(entry)};
    const cjs = createRequire(import.meta.url)(${JSON.stringify(path.join(dist, 'index.js'))});
    console.log(JSON.stringify({
      names: Object.keys(entry),
      defaultKeys: Object.keys(entry.default ?? {}),
      defaultIsRequire: entry.default === cjs,
    }));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script]).toString()) as Runtime;
}

// The names .d.mts exports as values, and the properties its `default` is declared to have.
function declaredExports(): { names: string[]; defaultKeys: string[] | null } {
  const program = ts.createProgram([declarations], {
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
  });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(declarations)!)!;
  const values = checker.getExportsOfModule(module).filter((symbol) => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    return (target.flags & ts.SymbolFlags.Value) !== 0;
  });
  const defaultSymbol = values.find((s) => s.name === 'default');
  const defaultKeys = defaultSymbol
    ? checker
        .getTypeOfSymbol(
          defaultSymbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(defaultSymbol) : defaultSymbol,
        )
        .getProperties()
        .map((p) => p.name)
    : null;
  return { names: values.map((s) => s.name), defaultKeys };
}

t.test('the ESM entry exports at run time what its types declare', async (t) => {
  const runtime = runtimeExports();
  const declared = declaredExports();
  t.same([...runtime.names].sort(), [...declared.names].sort(), 'the same export names, default included');
  t.ok(runtime.names.includes('default'), 'a default export');
  t.notOk(runtime.names.includes('__esModule'), 'no __esModule export (a CommonJS marker, not declared)');
  t.ok(runtime.defaultIsRequire, "default is the module require('crftb') gives");
  t.ok(declared.defaultKeys, 'the types declare default');
  const named = runtime.names.filter((n) => n !== 'default').sort();
  t.same([...runtime.defaultKeys].sort(), named, "default's properties are the named exports");
  t.same([...(declared.defaultKeys ?? [])].sort(), named, 'and are declared so');
});
