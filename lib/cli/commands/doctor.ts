// `crftb doctor`: what works on this machine and, when something does not, what to do about it.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Command } from '../command';
import { parseCommand } from '../args';
import { crftbCommand, rebuildAddonCommand } from '../hints';

// Everything that needs the addon is loaded only once the addon check passed, so a package
// without a usable build reports that instead of dying with node-gyp-build's stack trace.
type Loaded = {
  nativeInfo: typeof import('../../native').nativeInfo;
  locateCriu: typeof import('../../criu/locate').locateCriu;
  probeEngine: typeof import('../../cr/probe').probeEngine;
  FtbClient: typeof import('../../ftb/client').FtbClient;
  criuCheck: (path: string) => Promise<import('../../cr/native').CriuCheck>;
};
let lib: Loaded;

const run = promisify(execFile);

type Status = 'ok' | 'warn' | 'fail';

interface Check {
  name: string;
  status: Status;
  detail: string;
}

const CAP_SYS_ADMIN = 21n;
const CAP_CHECKPOINT_RESTORE = 40n;

function capabilities(): Check {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CapEff:'));
  const eff = BigInt(`0x${line?.split(/\s+/)[1] ?? '0'}`);
  const has = (bit: bigint) => (eff >> bit) & 1n;
  if (process.getuid?.() === 0 || has(CAP_SYS_ADMIN) || has(CAP_CHECKPOINT_RESTORE)) {
    return {
      name: 'privileges',
      status: 'ok',
      detail: process.getuid?.() === 0 ? 'root' : 'CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN',
    };
  }
  return {
    name: 'privileges',
    status: 'fail',
    detail: 'checkpoints need root or CAP_CHECKPOINT_RESTORE (setcap cap_checkpoint_restore+eip on the criu binary)',
  };
}

async function criu(): Promise<Check[]> {
  let path: string;
  let source: string;
  try {
    ({ path, source } = lib.locateCriu());
  } catch (error) {
    return [{ name: 'criu', status: 'fail', detail: (error as Error).message }];
  }
  const checks: Check[] = [];
  try {
    const { stdout } = await run(path, ['--version'], { timeout: 10_000 });
    const version = /Version:\s*(\S+)/.exec(stdout)?.[1] ?? stdout.trim();
    checks.push({ name: 'criu', status: 'ok', detail: `${version} at ${path} (found via ${source})` });
  } catch (error) {
    return [{ name: 'criu', status: 'fail', detail: `${path} does not run: ${(error as Error).message}` }];
  }
  // The same cached `criu check` the locator and probeEngine() use (native/cr/criu_check.h).
  const check = await lib.criuCheck(path);
  checks.push(
    check.passed
      ? { name: 'criu check', status: 'ok', detail: 'Looks good: this kernel supports checkpoint/restore' }
      : {
          name: 'criu check',
          status: 'fail',
          detail: `${check.output.replace(/\n/g, ' / ') || 'failed'} — as root run '${crftbCommand('provision-criu')}' for a CRIU that works on this kernel`,
        },
  );
  try {
    const { stdout } = await run('ldconfig', ['-p'], { timeout: 10_000 });
    checks.push(
      /libcriu\.so\.2\b/.test(stdout)
        ? { name: 'libcriu', status: 'ok', detail: 'libcriu.so.2 found (the RPC client crftb loads)' }
        : {
            name: 'libcriu',
            status: 'fail',
            detail: 'libcriu.so.2 not found: install Debian package criu (Debian 12) or libcriu2',
          },
    );
  } catch {
    checks.push({ name: 'libcriu', status: 'warn', detail: 'could not run ldconfig -p to look for libcriu.so.2' });
  }
  return checks;
}

async function blcr(): Promise<Check> {
  try {
    const probe = await lib.probeEngine({ engine: 'blcr' });
    return {
      name: 'blcr',
      status: 'ok',
      detail: `${probe.library}${probe.publishesFtb ? ' (publishes FTB events itself)' : ''}`,
    };
  } catch (error) {
    const e = error as { code?: string; message: string };
    // BLCR's kernel module cannot load on current kernels, so its absence is expected.
    return { name: 'blcr', status: 'warn', detail: `${e.code}: ${e.message}` };
  }
}

async function agent(): Promise<Check> {
  const { FtbClient } = lib;
  const client = new FtbClient({ eventSpace: 'CRFTB.doctor.probe' }, { connectTimeoutMs: 1500, reconnect: false });
  try {
    await client.connect();
    const where = FtbClient.connectionStats().agent;
    return { name: 'ftb agent', status: 'ok', detail: `reachable at ${where}` };
  } catch (error) {
    const e = error as { code?: string; message: string };
    return {
      name: 'ftb agent',
      status: 'warn',
      detail: `${e.code}: ${e.message} — events will be counted as dropped; start one with '${crftbCommand('agent')}' (checkpoints work without it)`,
    };
  } finally {
    await client.close().catch(() => undefined);
  }
}

function ioUring(): Check {
  return process.env.UV_USE_IO_URING === '1'
    ? {
        name: 'io_uring',
        status: 'warn',
        detail: 'UV_USE_IO_URING=1: CRIU cannot dump io_uring; start checkpointed processes with UV_USE_IO_URING=0',
      }
    : { name: 'io_uring', status: 'ok', detail: "libuv's io_uring is off (CRIU cannot dump it)" };
}

function addon(): Check {
  try {
    lib = {
      nativeInfo: require('../../native').nativeInfo,
      locateCriu: require('../../criu/locate').locateCriu,
      probeEngine: require('../../cr/probe').probeEngine,
      FtbClient: require('../../ftb/client').FtbClient,
      criuCheck: (path: string) => require('../../cr/native').cr.criuCheck(path),
    };
    const info = lib.nativeInfo();
    return {
      name: 'addon',
      status: 'ok',
      detail: `${info.addonPath} (Node-API ${info.napiVersion}, glibc ${info.libc})`,
    };
  } catch (error) {
    const why = String((error as Error).message).split('\n')[0];
    return { name: 'addon', status: 'fail', detail: `not built/not loadable (${why}) — fix: ${rebuildAddonCommand()}` };
  }
}

async function collect(): Promise<Check[]> {
  const loaded = addon();
  if (loaded.status !== 'ok') return [loaded, capabilities(), ioUring()];
  return [loaded, capabilities(), ...(await criu()), await blcr(), ioUring(), await agent()];
}

export const doctor: Command = {
  summary: 'Show what works here: addon, checkpoint engines, CRIU, FTB agent',
  usage:
    'Usage: crftb doctor [--json]\n\nChecks the addon, privileges, the checkpoint engines (CRIU, BLCR) and the FTB agent\n' +
    '(found as FTB finds it: FTB_AGENT_PORT, FTB_BSTRAP_SERVER, FTB_CONFIG_FILE).\n' +
    'Exit code 0 when checkpoints can work here (warnings allowed), 1 otherwise.',
  async run(args) {
    const { values } = parseCommand(args, { json: { type: 'boolean' } });
    const checks = await collect();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
    } else {
      const mark: Record<Status, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };
      for (const c of checks) process.stdout.write(`${mark[c.status]} ${c.name.padEnd(11)} ${c.detail}\n`);
    }
    return checks.some((c) => c.status === 'fail') ? 1 : 0;
  },
};
