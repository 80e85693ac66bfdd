// The BLCR engine behind crftb's checkpoint()/restart() against a TEST DOUBLE of libcr.so.0
// (test/fixtures/libcr-double): the double is compiled here with `cc -shared -fPIC` into a temp
// dir as libcr.so.0 and the engine is pointed at it with the `libcr` option (one test finds it
// through LD_LIBRARY_PATH instead). Each scenario runs in a child process; the double logs every
// libcr call with its arguments, and the tests assert that call sequence and how BLCR's errors
// reach JS. FTB publishing is off (ftb: false) except where a test names its own agent.
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildDouble, callInChild, cannotBuild, readCallLog, type LibcrDouble } from './helpers/libcr-double';

const skip = cannotBuild();
let counter = 0;

function scenario(double: LibcrDouble, env: Record<string, string> = {}) {
  const n = ++counter;
  const log = path.join(double.dir, `calls-${n}.log`);
  const work = path.join(double.dir, `work-${n}`);
  mkdirSync(work);
  const run = (fn: string, options: Record<string, unknown>) =>
    callInChild(
      fn,
      { engine: 'blcr', libcr: double.library, ftb: false, ...options },
      { LIBCR_DOUBLE_LOG: log, ...env },
    );
  return {
    log,
    work,
    checkpoint: (options: Record<string, unknown>) =>
      run('checkpoint', { target: 'TARGET', file: path.join(work, 'job.ctx'), ...options }),
    restart: (options: Record<string, unknown>) => run('restartDetailed', options),
    probe: (options: Record<string, unknown> = {}) => run('probeEngine', options),
    calls: () => readCallLog(log),
  };
}

const tid = (line: string) => line.match(/tid=(\d+)/)![1];

// How the JS error carries the number libcr set: a system errno as Node's negative errno, BLCR's
// own CR_E* numbers as codeNumber (lib/errors.ts).
const numbered = (code: string, n: number) => (code.startsWith('CR_') ? { codeNumber: n } : { errno: -n });

t.test('libcr.so.0 test double', { skip }, async (t) => {
  const double = buildDouble();
  const ftbDouble = buildDouble({ withFtb: true });
  t.teardown(() => {
    double.remove();
    ftbDouble.remove();
  });

  t.test('a checkpoint runs cr_init, request, log and reap on one worker thread', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_KMSG: 'saved 1 process' });
    const out = s.checkpoint({ timeoutMs: 1500 });
    t.notOk(out.error, 'resolves');
    const context = path.join(s.work, 'job.ctx');
    t.match(out.value, { engine: 'blcr', restarted: false, path: context, pids: [out.target] });
    const log = s.calls();
    t.same(log.calls, [
      'cri_init_checkpoint_args_t', // load-time check that this libcr speaks args version 1
      'cr_init',
      'cri_init_checkpoint_args_t',
      'cr_request_checkpoint',
      'cr_log_checkpoint', // size query, then the text
      'cr_log_checkpoint',
      'cr_reap_checkpoint',
    ]);
    const request = log.find('cr_request_checkpoint')[0];
    t.match(
      request,
      `version=1 scope=0 target=${out.target} fd_path=${context}.tmp-${out.self.pid} signal=0 timeout=0 flags=0x1 -> 0`,
      'explicit target, temp destination, CR_CHKPT_PROHIBIT_SELF',
    );
    t.equal(tid(log.find('cr_init')[0]), tid(request), 'cr_init ran in the thread that made the request');
    t.not(tid(request), String(out.self.pid), 'not on the JS thread');
    t.match(log.find('cr_log_checkpoint')[0], / len=0 /);
    t.match(log.find('cr_reap_checkpoint')[0], /-> 0 errno=0$/, 'reaped only once the handle was readable');
    t.notOk(
      log.lines.some((l) => /^cr_(poll|wait)_/.test(l)),
      "never libcr's select()-based waits",
    );
    t.match(
      readFileSync(context, 'utf8'),
      `LIBCR-DOUBLE CONTEXT scope=0 target=${out.target}`,
      'the double wrote through the fd it got',
    );
    t.same(readdirSync(s.work), ['job.ctx'], 'the temp file was renamed into place, nothing else left');
  });

  t.test('scopes and the after-checkpoint action reach cr_checkpoint_args_t', async (t) => {
    // The target `sleep` is started detached, so its pid is also its pgid and sid.
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ scope: 'tree' }, /scope=3 .* signal=0 /],
      [{ scope: 'pgid' }, /scope=1 .* signal=0 /],
      [{ scope: 'session' }, /scope=2 .* signal=0 /],
      // kill: libcr is asked for no signal; crftb kills the target itself once the context file
      // is in place, so an interrupted request never loses it (cr-cancel-no-loss).
      [{ kill: true }, /scope=0 .* signal=0 timeout=0 flags=0x1 /],
    ];
    for (const [options, expected] of cases) {
      const s = scenario(double);
      const out = s.checkpoint(options);
      t.notOk(out.error, `${JSON.stringify(options)} resolves`);
      t.match(s.calls().find('cr_request_checkpoint')[0], expected, JSON.stringify(options));
      t.match(s.calls().find('cr_request_checkpoint')[0], ` target=${out.target} `);
      // Killed: a zombie, or already reaped by the child's own event loop.
      t.match(
        out.targetState,
        options.kill ? /^(Z|gone)$/ : /^[RS]$/,
        `${JSON.stringify(options)}: the target is ${options.kill ? 'killed' : 'left running'}`,
      );
    }
  });

  t.test('request-time errors: named code and errno, no reap, no context file left', async (t) => {
    const cases: Array<[number, string, RegExp]> = [
      [2360, 'CR_EPTRACED', /BLCR checkpoint of process \d+ was refused: a target is being ptraced/],
      [2356, 'CR_ENOSUPPORT', /does not load libcr/],
      [1, 'EPERM', /was refused: Operation not permitted/],
      [16, 'EBUSY', /already being checkpointed/],
    ];
    for (const [errno, code, message] of cases) {
      const s = scenario(double, { LIBCR_DOUBLE_REQUEST_ERRNO: String(errno) });
      const out = s.checkpoint({});
      t.match(out.error, { code, ...numbered(code, errno), message, sync: false }, code);
      t.same(s.calls().calls.slice(-1), ['cr_request_checkpoint'], `${code}: nothing after the failed request`);
      t.same(readdirSync(s.work), [], `${code}: temp file removed`);
    }
  });

  t.test('reap-time errors: named code, errno and the kernel log in the message', async (t) => {
    const cases: Array<[number, string, RegExp]> = [
      [
        2354,
        'CR_ETEMPFAIL',
        /failed: a callback in a target cancelled the checkpoint for now.*Kernel log: cannot save fd 3$/,
      ],
      [2355, 'CR_EPERMFAIL', /cancelled the checkpoint permanently/],
      [9, 'EBADF', /open file BLCR cannot save.*engine 'criu'/],
      [28, 'ENOSPC', /No space left on device/],
      [3, 'ESRCH', /no target process/],
    ];
    for (const [errno, code, message] of cases) {
      const s = scenario(double, { LIBCR_DOUBLE_REAP_ERRNO: String(errno), LIBCR_DOUBLE_KMSG: 'cannot save fd 3\n' });
      const out = s.checkpoint({});
      t.match(out.error, { code, ...numbered(code, errno), message }, code);
      t.same(s.calls().calls.slice(-1), ['cr_reap_checkpoint'], `${code}: failed at reap`);
      t.same(readdirSync(s.work), [], `${code}: partial context removed`);
    }
  });

  t.test('CR_ERESTARTED at reap means "restarted copy", not a failure', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_REAP_ERRNO: '2363' });
    const out = s.checkpoint({});
    t.notOk(out.error);
    t.match(out.value, { engine: 'blcr', restarted: true });
  });

  t.test('a checkpoint that outlives its deadline fails with ETIMEDOUT and releases the handle', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_COMPLETE_MS: 'never' });
    const out = s.checkpoint({ timeoutMs: 300 });
    t.match(out.error, { code: 'ETIMEDOUT', errno: -110, message: /did not finish within 300 ms/ });
    const log = s.calls();
    t.same(log.calls.slice(-1), ['cr_request_checkpoint'], 'never reaped early (libcr would abandon it as EAGAIN)');
    t.match(log.find('unload')[0], /released$/, 'the handle fd was closed, not leaked');
    t.notOk(existsSync(path.join(s.work, 'job.ctx')), 'nothing under the requested name');
  });

  t.test('a slow checkpoint inside its deadline is waited for, then reaped', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_COMPLETE_MS: '400' });
    const out = s.checkpoint({ timeoutMs: 20000 });
    t.notOk(out.error);
    t.match(s.calls().find('cr_reap_checkpoint')[0], /-> 0 errno=0$/, 'reap found the request finished (no EAGAIN)');
  });

  t.test('cr_init failures: ENOSYS (no kernel module) and CR_EVERSION, before any request', async (t) => {
    for (const [errno, code, message] of [
      [38, 'ENOSYS', /kernel interface .* does not answer.*kernel module.*engine 'criu'/],
      [2357, 'CR_EVERSION', /different versions/],
    ] as const) {
      const s = scenario(double, { LIBCR_DOUBLE_INIT_ERRNO: String(errno) });
      t.match(s.probe().error, { code, ...numbered(code, errno), message }, `probe: ${code}`);
      t.match(s.checkpoint({}).error, { code, ...numbered(code, errno) }, `checkpoint: ${code}`);
      t.notOk(s.calls().calls.includes('cr_request_checkpoint'), 'no request after cr_init failed');
      t.same(readdirSync(s.work), []);
    }
  });

  t.test("'auto' picks BLCR when its kernel interface answers, else CRIU", async (t) => {
    const answers = scenario(double);
    t.match(answers.probe({ engine: 'auto' }).value, {
      engine: 'blcr',
      library: double.library,
      directoryImages: false,
    });
    const silent = scenario(double, { LIBCR_DOUBLE_INIT_ERRNO: '38' });
    const out = silent.probe({ engine: 'auto' });
    if (out.error) {
      // No CRIU either: the error must name both engines and what to install.
      t.match(out.error, { code: 'ENOSYS', message: /blcr: .*kernel interface.*criu: .*Install CRIU/ });
    } else {
      t.match(out.value, { engine: 'criu', directoryImages: true }, 'fell back to CRIU');
    }
    t.same(silent.calls().calls, ['cri_init_checkpoint_args_t', 'cr_init'], 'BLCR was asked first');
  });

  t.test('the probe reports the loaded file and whether libcr publishes FTB events itself', async (t) => {
    const plain = scenario(double);
    t.same(plain.probe().value, {
      engine: 'blcr',
      version: '0',
      library: double.library,
      selfCheckpoint: false,
      incremental: false,
      directoryImages: false,
      publishesFtb: false,
      works: true,
    });
    const withFtb = scenario(ftbDouble);
    t.match(withFtb.probe().value, { engine: 'blcr', library: ftbDouble.library, publishesFtb: true });
    t.notOk(
      withFtb.calls().lines.some((l) => l.startsWith('cri_ftb')),
      'cri_ftb_* are detected, never called',
    );
  });

  t.test('LD_LIBRARY_PATH finds the double as plain libcr.so.0', async (t) => {
    const log = path.join(double.dir, 'ld-path.log');
    const out = callInChild('probeEngine', { engine: 'blcr' }, { LD_LIBRARY_PATH: double.dir, LIBCR_DOUBLE_LOG: log });
    t.match(out.value, { engine: 'blcr', library: double.library });
    t.same(readCallLog(log).calls, ['cri_init_checkpoint_args_t', 'cr_init']);
  });

  t.test('this process is never checkpointed by BLCR: refused before libcr is asked', async (t) => {
    const s = scenario(double);
    const out = s.checkpoint({ target: 'SELF' });
    t.match(out.error, { code: 'EOPNOTSUPP', message: /blcr engine cannot checkpoint the calling process/ });
    t.notOk(s.calls().calls.includes('cr_request_checkpoint'));
  });

  t.test('restart: the source fd and flags reach cr_restart_args_t; the restored child is ours', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_RESTART_CHILD: '1', LIBCR_DOUBLE_KMSG: 'restored' });
    const context = path.join(s.work, 'job.ctx');
    writeFileSync(context, 'CONTEXT FROM A TEST\nrest');
    const out = s.restart({ file: context });
    t.notOk(out.error);
    t.match(out.value, { engine: 'blcr' });
    t.ok(out.value!.pid > 0, 'the pid cr_reap_restart returned');
    t.equal(out.parentOfResultPid, out.self.pid, 'the restored process is a child of the requester');
    const log = s.calls();
    t.same(log.calls, [
      'cri_init_checkpoint_args_t',
      'cr_init',
      'cri_init_restart_args_t',
      'cr_request_restart',
      'cr_log_restart',
      'cr_log_restart',
      'cr_reap_restart',
    ]);
    t.match(
      log.find('cr_request_restart')[0],
      `fd_path=${context} source_head=CONTEXT_FROM_A_TEST signal=0 flags=0x2 relocate=0[] -> 0`,
      'the initializer keeps CR_RSTRT_RESTORE_PID',
    );
    t.match(log.find('cr_reap_restart')[0], `-> ${out.value!.pid} errno=0`);
    t.equal(out.value!.exited, 'promise', 'the result has an exited promise, as the restored process is our child');
    t.same(out.exited, { code: null, signal: 'SIGKILL' }, 'it settles with the signal that ended the restored child');
    t.equal(out.stateAfterExit, 'gone', 'and the child was reaped, not left a zombie');
  });

  t.test('a restored child that exits by itself is reaped and its exit code reported', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_RESTART_CHILD: '1', LIBCR_DOUBLE_RESTART_CHILD_EXIT: '7' });
    const context = path.join(s.work, 'job.ctx');
    writeFileSync(context, 'CONTEXT FROM A TEST\n');
    const out = s.restart({ file: context });
    t.notOk(out.error);
    t.same(out.exited, { code: 7, signal: null }, 'exit status 7 reaches JS');
    t.equal(out.stateAfterExit, 'gone', 'no zombie is left behind');
  });

  t.test('restart errors at request and reap time, and a directory source', async (t) => {
    const s = scenario(double, { LIBCR_DOUBLE_REQUEST_ERRNO: '2359' });
    const context = path.join(s.work, 'job.ctx');
    writeFileSync(context, 'x');
    t.match(s.restart({ file: context }).error, {
      code: 'CR_EBADARCH',
      codeNumber: 2359,
      message: /different architecture/,
    });

    const r = scenario(double, { LIBCR_DOUBLE_REAP_ERRNO: '2362', LIBCR_DOUBLE_KMSG: 'callback failed' });
    writeFileSync(path.join(r.work, 'c'), 'x');
    t.match(r.restart({ file: path.join(r.work, 'c') }).error, {
      code: 'CR_ERSTRTABRT',
      codeNumber: 2362,
      message: /restart was aborted.*Kernel log: callback failed/,
    });
    t.same(r.calls().calls.slice(-1), ['cr_reap_restart']);

    const d = scenario(double);
    t.match(d.restart({ file: d.work }).error, { code: 'EISDIR', errno: -21 });
    t.match(d.restart({ file: path.join(d.work, 'missing') }).error, { code: 'ENOENT', errno: -2 });
    t.notOk(d.calls().calls.includes('cr_request_restart'), 'neither reached libcr');
  });
});
