// Every size, alignment and field offset of native/ftb/wire.h, measured in the compiled addon,
// against the table transcribed from PROTOCOL.md §4 (native/ftb/layout-table.json).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ftbRules } from '../lib/ftb/native';

const table = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'native', 'ftb', 'layout-table.json'), 'utf8'),
) as Record<string, { size: number; align: number; fields: Record<string, [number, number]> }>;

const measured = ftbRules.layout();

for (const [name, expected] of Object.entries(table)) {
  if (name.startsWith('_')) continue;
  t.test(`${name} layout`, async (t) => {
    const actual = measured[name];
    t.ok(actual, `${name} is reported by the addon`);
    t.equal(actual.size, expected.size, `sizeof(${name})`);
    t.equal(actual.align, expected.align, `alignof(${name})`);
    t.same(Object.keys(actual.fields).sort(), Object.keys(expected.fields).sort(), 'same field list');
    for (const [field, [offset, size]] of Object.entries(expected.fields)) {
      t.same(actual.fields[field], [offset, size], `${name}.${field} at ${offset}, ${size} bytes`);
    }
    // fields tile the struct exactly: no gap, no overlap
    const spans = Object.values(actual.fields).sort((a, b) => a[0] - b[0]);
    let end = 0;
    for (const [offset, size] of spans) {
      t.equal(offset, end, `no gap or overlap before offset ${offset}`);
      end = offset + size;
    }
    t.equal(end, actual.size, 'fields cover the whole struct');
  });
}

t.test('the table covers every struct the addon reports', async (t) => {
  t.same(
    Object.keys(measured).sort(),
    Object.keys(table)
      .filter((k) => !k.startsWith('_'))
      .sort(),
  );
});
