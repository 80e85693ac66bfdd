// isCrftbError() and `instanceof CrftbError` are true for errors crftb made — in JavaScript or in
// the addon — and false for any other error, even one that has a `code` like an fs error.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { CrftbError, isCrftbError } from '../lib/errors';
import { locateCriu } from '../lib/criu/locate';
import { FtbEventHandle } from '../lib/ftb/event';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

t.test('errors crftb did not make are not crftb errors', async (t) => {
  const fsError = thrown(() => readFileSync('/nonexistent/crftb-file'));
  t.match(fsError, { code: 'ENOENT' }, 'an fs error has a code');
  t.notOk(isCrftbError(fsError), 'but is not a crftb error');
  t.notOk(fsError instanceof CrftbError);
  t.notOk(isCrftbError(Object.assign(new Error('x'), { code: 'EINVAL' })));
  t.notOk(isCrftbError({ code: 'ENOENT', message: 'not even an Error' }));
});

t.test('errors from the addon and from JavaScript are', async (t) => {
  const native = thrown(() => locateCriu('/nonexistent/criu'));
  t.ok(isCrftbError(native), 'a native error');
  t.ok(native instanceof CrftbError, 'instanceof CrftbError');
  t.match(native, { code: 'ENOENT', errno: -2 });
  t.same(Object.getOwnPropertySymbols(native).length, 1, 'branded by one symbol');
  t.notOk(
    Object.keys(native as object).some((k) => k.includes('crftb')),
    'the brand is not enumerable',
  );
  const js = thrown(() => new FtbEventHandle(Buffer.alloc(1)));
  t.ok(isCrftbError(js) && js instanceof CrftbError && js instanceof Error, 'a JavaScript-side error');
  t.match(js, { code: 'FTB_ERR_INVALID_HANDLE', codeNumber: -9 });
  const made = new CrftbError('EINVAL', 'made here', { cause: new Error('why') });
  t.match(made, { code: 'EINVAL', errno: -22, message: 'made here', cause: { message: 'why' } });
  t.ok(isCrftbError(made));
});
