// The BLCR engine against a TEST DOUBLE of libcr.so.0 (test/fixtures/libcr-double): the double
// is compiled here with `cc -shared -fPIC` into a temp dir as libcr.so.0 and the engine is pointed
// at it with its `libraryPath` option (one test also finds it through LD_LIBRARY_PATH). Each
// scenario runs in a child process; the double logs every libcr call with its arguments, and the
// tests assert that call sequence and how BLCR's errors reach JS.
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildDouble, callInChild, cannotBuild, readCallLog, type LibcrDouble } from './fixtures/libcr-double/double';

const skip = cannotBuild();
let counter = 0;

function scenario(double: LibcrDouble, env: Record<string, string> = {}) {
  const n = ++counter;
  const log = path.join(double.dir, `calls-${n}.log`);
  const work = path.join(double.dir, `work-${n}`);
  mkdirSync(work);
  return {
    log,
    work,
    call: (fn: string, options: Record<string, unknown>) =>
      callInChild(fn, { libraryPath: double.library, ...options }, { LIBCR_DOUBLE_LOG: log, ...env }),
    calls: () => readCallLog(log),
  };
}

t.test('libcr.so.0 test double', { skip }, async (t) => {
  const double = buildDouble();
  const ftbDouble = buildDouble({ withFtb: true });
  t.teardown(() => {
    double.remove();
    ftbDouble.remove();
  });

  t.test('a checkpoint runs init, request, log and reap on one worker thread', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_KMSG: 'saved 1 process' });
    const context = path.join(s.work, 'job.ctx');
    const out = s.call('blcrCheckpoint', { scope: 'process', target: 'TARGET', path: context, timeoutMs: 1500 });
    t.notOk(out.error, 'resolves');
    t.same(out.value, { path: context, kernelLog: 'saved 1 process', restartedCopy: false });
    const log = s.calls();
    t.same(log.calls, [
      'cri_init_checkpoint_args_t', // load-time check that libcr speaks args version 1
      'cr_init',
      'cri_init_checkpoint_args_t',
      'cr_request_checkpoint',
      'cr_log_checkpoint', // size query
      'cr_log_checkpoint',
      'cr_reap_checkpoint',
    ]);
    const request = log.find('cr_request_checkpoint')[0];
    t.match(request, `version=1 scope=0 target=${out.target} fd_path=${path.join(s.work, '.job.ctx.tmp')} signal=0 timeout=2 flags=0x1 -> 0`, 'explicit target, temp destination, PROHIBIT_SELF, cr_timeout rounded up to seconds');
    const tid = (line: string) => line.match(/tid=(\d+)/)![1];
    t.equal(tid(log.find('cr_init')[0]), tid(request), 'cr_init ran in the thread that made the request');
    t.not(tid(request), String(out.self.pid), 'the request did not run on the JS thread');
    t.match(log.find('cr_reap_checkpoint')[0], /-> 0 errno=0$/, 'reaped only once the handle was readable');
    t.equal(log.find('cr_log_checkpoint')[0].includes('len=0'), true);
    t.notOk(log.lines.some((l) => /^cr_(poll|wait)_/.test(l)), 'never uses the select()-based waits');
    t.match(readFileSync(context, 'utf8'), `LIBCR-DOUBLE CONTEXT scope=0 target=${out.target}`, 'the double wrote through the fd it was given');
    t.same(readdirSync(s.work), ['job.ctx'], 'the temp file was renamed, nothing else left behind');
  });

  t.test('scopes, post-checkpoint signal and flags reach cr_checkpoint_args_t', async (t) => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ scope: 'tree' }, /scope=3 target=\d+ .* signal=0 timeout=0 flags=0x1 /],
      [{ scope: 'pgid' }, /scope=1 /],
      [{ scope: 'session' }, /scope=2 /],
      [{ scope: 'process', signal: 15, ptraced: 'skip', ptracer: 'skip', saveExecutable: true }, /scope=0 .* signal=15 timeout=0 flags=0x20d /],
      [{ signal: -19, ptraced: 'allow', savePrivateMappings: true, saveSharedMappings: true }, /signal=-19 timeout=0 flags=0xc03 /],
    ];
    for (const [options, expected] of cases) {
      const s = scenario(double);
      // The target `sleep` is started detached, so its pid is also its pgid and sid.
      const out = s.call('blcrCheckpoint', { target: 'TARGET', path: path.join(s.work, 'c'), timeoutMs: 0, ...options });
      t.notOk(out.error, `${JSON.stringify(options)} resolves`);
      t.match(s.calls().find('cr_request_checkpoint')[0], expected, JSON.stringify(options));
      t.match(s.calls().find('cr_request_checkpoint')[0], `target=${out.target} `);
    }
  });

  t.test('request-time errors: named code, errno, no reap, no context file left', async (t) => {
    const cases: Array<[number, string, RegExp]> = [
      [2360, 'CR_EPTRACED', /was refused: a target is being ptraced/],
      [2356, 'CR_ENOSUPPORT', /does not load libcr/],
      [1, 'EPERM', /was refused: Operation not permitted/],
      [16, 'EBUSY', /already being checkpointed/],
    ];
    for (const [errno, code, message] of cases) {
      const s = scenario(double, { LIBCR_DOUBLE_REQUEST_ERRNO: String(errno) });
      const out = s.call('blcrCheckpoint', { target: 'TARGET', path: path.join(s.work, 'c') });
      t.match(out.error, { code, errno, message, sync: false }, code);
      t.same(s.calls().calls.slice(-1), ['cr_request_checkpoint'], `${code}: nothing after the failed request`);
      t.same(readdirSync(s.work), [], `${code}: temp file removed`);
    }
  });

  t.test('reap-time errors: named code, errno and the kernel log in the message', async (t) => {
    const cases: Array<[number, string, RegExp]> = [
      [2354, 'CR_ETEMPFAIL', /failed: a callback in a target cancelled the checkpoint for now.*Kernel log: cannot save/],
      [2355, 'CR_EPERMFAIL', /cancelled the checkpoint permanently/],
      [9, 'EBADF', /open file BLCR cannot save.*engine 'criu'/],
      [28, 'ENOSPC', /No space left on device/],
      [3, 'ESRCH', /no target process/],
    ];
    for (const [errno, code, message] of cases) {
      const s = scenario(double, { LIBCR_DOUBLE_REAP_ERRNO: String(errno), LIBCR_DOUBLE_KMSG: 'cannot save fd 3\n' });
      const out = s.call('blcrCheckpoint', { target: 'TARGET', path: path.join(s.work, 'c') });
      t.match(out.error, { code, errno, message }, code);
      t.same(s.calls().calls.slice(-1), ['cr_reap_checkpoint'], `${code}: failed at reap`);
      t.same(readdirSync(s.work), [], `${code}: partial context removed`);
    }
  });

  t.test('CR_ERESTARTED at reap means "restarted copy", not a failure', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_REAP_ERRNO: '2363' });
    const out = s.call('blcrCheckpoint', { target: 'TARGET', path: path.join(s.work, 'c') });
    t.notOk(out.error);
    t.match(out.value, { restartedCopy: true });
  });

  t.test('a checkpoint that outlives its deadline fails with ETIMEDOUT and releases the handle', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_COMPLETE_MS: 'never' });
    const out = s.call('blcrCheckpoint', { target: 'TARGET', path: path.join(s.work, 'c'), timeoutMs: 300 });
    t.match(out.error, { code: 'ETIMEDOUT', errno: 110, message: /did not finish within 300 ms.*cannot cancel/ });
    const log = s.calls();
    t.same(log.calls.slice(-1), ['cr_request_checkpoint'], 'never reaped early (that would abandon the request as EAGAIN)');
    t.match(log.find('cr_request_checkpoint')[0], / timeout=1 /, 'the deadline is also handed to libcr, rounded up');
    t.match(log.find('unload')[0], /released$/, 'the handle fd was closed, not leaked');
    t.same(readdirSync(s.work), [], 'temp file removed');
  });

  t.test('a slow checkpoint inside its deadline is waited for, then reaped', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_COMPLETE_MS: '400' });
    const out = s.call('blcrCheckpoint', { target: 'TARGET', path: path.join(s.work, 'c'), timeoutMs: 20000 });
    t.notOk(out.error);
    t.match(s.calls().find('cr_reap_checkpoint')[0], /-> 0 errno=0$/, 'reap found the request finished (no EAGAIN)');
  });

  t.test('cr_init failures: ENOSYS (no kernel module) and CR_EVERSION, before any request', async (t) => {
    for (const [errno, code, message] of [
      [38, 'ENOSYS', /kernel interface .* does not answer.*kernel module.*engine 'criu'/],
      [2357, 'CR_EVERSION', /different versions/],
    ] as const) {
      const s = scenario(double, { LIBCR_DOUBLE_INIT_ERRNO: String(errno) });
      const probe = s.call('blcrProbe', {});
      t.match(probe.error, { code, errno, message }, `probe: ${code}`);
      const out = s.call('blcrCheckpoint', { target: 'TARGET', path: path.join(s.work, 'c') });
      t.match(out.error, { code, errno }, `checkpoint: ${code}`);
      t.notOk(s.calls().calls.includes('cr_request_checkpoint'), 'no request after cr_init failed');
      t.same(readdirSync(s.work), []);
    }
  });

  t.test('the probe reports the loaded file and whether libcr publishes FTB events itself', async (t) => {
    const plain = scenario(double);
    t.same(plain.call('blcrProbe', {}).value, { engine: 'blcr', library: double.library, publishesFtb: false, clientId: 0 });
    const withFtb = scenario(ftbDouble);
    const out = withFtb.call('blcrProbe', {});
    t.match(out.value, { engine: 'blcr', library: ftbDouble.library, publishesFtb: true });
    t.notOk(withFtb.calls().lines.some((l) => l.startsWith('cri_ftb')), 'cri_ftb_* are detected, never called');
  });

  t.test('LD_LIBRARY_PATH finds the double as plain libcr.so.0', async (t) => {
    const log = path.join(double.dir, 'ld-path.log');
    const out = callInChild('blcrProbe', {}, { LD_LIBRARY_PATH: double.dir, LIBCR_DOUBLE_LOG: log });
    t.match(out.value, { library: double.library, publishesFtb: false });
    t.same(readCallLog(log).calls, ['cri_init_checkpoint_args_t', 'cr_init']);
  });

  t.test('restart: flags, relocations and the source fd reach cr_restart_args_t', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_RESTART_PID: '4242', LIBCR_DOUBLE_KMSG: 'restored' });
    const context = path.join(s.work, 'job.ctx');
    writeFileSync(context, 'CONTEXT FROM A TEST\nrest');
    const out = s.call('blcrRestart', {
      path: context,
      restorePgid: true,
      signal: 18,
      relocate: [['/old/dir/', '/new/dir'], ['/same', '/same'], ['/tmp/a', '/tmp/b']],
    });
    t.same(out.value, { pid: 4242, kernelLog: 'restored' });
    const log = s.calls();
    t.same(log.calls, ['cri_init_checkpoint_args_t', 'cr_init', 'cri_init_restart_args_t', 'cr_request_restart', 'cr_log_restart', 'cr_log_restart', 'cr_reap_restart']);
    t.match(log.find('cr_request_restart')[0], `fd_path=${context} source_head=CONTEXT_FROM_A_TEST signal=18 flags=0x6 relocate=2[/old/dir=/new/dir,/tmp/a=/tmp/b] -> 0`, 'trailing slash stripped, identity pair dropped');
    t.match(log.find('cr_reap_restart')[0], /-> 4242 errno=0$/);
  });

  t.test('restart errors: request and reap time, directory source, bad relocations', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_REQUEST_ERRNO: '2359' });
    const context = path.join(s.work, 'job.ctx');
    writeFileSync(context, 'x');
    t.match(s.call('blcrRestart', { path: context }).error, { code: 'CR_EBADARCH', errno: 2359, message: /different architecture/ });

    const r = scenario(double, { LIBCR_DOUBLE_REAP_ERRNO: '2362' });
    writeFileSync(path.join(r.work, 'c'), 'x');
    t.match(r.call('blcrRestart', { path: path.join(r.work, 'c') }).error, { code: 'CR_ERSTRTABRT', errno: 2362 });
    t.same(r.calls().calls.slice(-1), ['cr_reap_restart']);

    const d = scenario(double);
    t.match(d.call('blcrRestart', { path: d.work }).error, { code: 'EISDIR' });
    const tooMany = Array.from({ length: 17 }, (_, i) => [`/a${i}`, `/b${i}`]);
    t.match(d.call('blcrRestart', { path: context, relocate: tooMany }).error, { code: 'EINVAL', message: /at most 16/ });
    t.match(d.call('blcrRestart', { path: context, relocate: [['relative', '/b']] }).error, { code: 'EINVAL', message: /absolute/ });
    t.match(d.call('blcrRestart', { path: path.join(d.work, 'missing') }).error, { code: 'ENOENT' });
    t.notOk(d.calls().calls.includes('cr_request_restart'), 'none of these reached libcr');
  });

  t.test('scopes that contain the caller are refused before libcr is asked', async (t) => {
    for (const options of [
      { scope: 'process', target: 'SELF' },
      { scope: 'pgid', target: 'OWN_PGID' },
      { scope: 'session', target: 'OWN_SID' },
      { scope: 'tree', target: 'SELF' },
      { scope: 'tree', target: 'PARENT' },
    ]) {
      const s = scenario(double);
      const out = s.call('blcrCheckpoint', { ...options, path: path.join(s.work, 'c') });
      t.match(out.error, { code: 'EDEADLK', errno: 35, message: /contains this process.*allowSelf/ }, JSON.stringify(options));
      t.notOk(existsSync(s.log) && s.calls().calls.includes('cr_request_checkpoint'), 'libcr never asked');
    }
    // With allowSelf the request goes out without CR_CHKPT_PROHIBIT_SELF (the double saves nothing).
    const s = scenario(double);
    const out = s.call('blcrCheckpoint', { scope: 'process', target: 'SELF', allowSelf: true, path: path.join(s.work, 'c') });
    t.notOk(out.error);
    t.match(s.calls().find('cr_request_checkpoint')[0], / flags=0x0 /);
  });

  t.test('bad input is a synchronous EINVAL, never a crash', async (t) => {
    const s = scenario(double);
    const bad: Array<[string, unknown, RegExp]> = [
      ['blcrCheckpoint', { path: '/tmp/x' }, /target/],
      ['blcrCheckpoint', { target: 'TARGET' }, /path/],
      ['blcrCheckpoint', { target: -1, path: '/tmp/x' }, /target/],
      ['blcrCheckpoint', { target: 'TARGET', path: '/tmp/x', scope: 'galaxy' }, /scope/],
      ['blcrCheckpoint', { target: 'TARGET', path: '/tmp/x', signal: 99 }, /signal/],
      ['blcrCheckpoint', { target: 'TARGET', path: '/tmp/x', timeoutMs: 1.5 }, /timeoutMs/],
      ['blcrRestart', { path: '/tmp/x', relocate: 'nope' }, /relocate/],
      ['blcrProbe', { libraryPath: 42 }, /libraryPath/],
    ];
    for (const [fn, options, message] of bad) {
      const out = s.call(fn, options as Record<string, unknown>);
      t.match(out.error, { code: 'EINVAL', sync: true, message }, `${fn} ${JSON.stringify(options)}`);
    }
    t.notOk(s.calls().calls.includes('cr_request_checkpoint'));
  });
});
