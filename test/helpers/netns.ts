// Several "hosts" on this machine for tests: network namespaces joined by veth pairs to a bridge
// that lives in a namespace of its own, all made and removed by the test that asks for them.
import { execFileSync } from 'node:child_process';

export interface TestHost {
  ns: string;
  ip: string;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class TestNetwork {
  readonly hosts: TestHost[];
  private readonly bridgeNs: string;

  /** `tag` keeps concurrent tests apart; `subnet` is the first three octets, e.g. '10.213.0'. */
  constructor(tag: string, count: number, subnet: string) {
    const prefix = `crftb-${process.pid}-${tag}`;
    this.bridgeNs = `${prefix}-sw`;
    this.hosts = Array.from({ length: count }, (_, i) => ({ ns: `${prefix}-h${i}`, ip: `${subnet}.${i + 1}` }));
  }

  /** Builds the network; returns null, or why the kernel (or the lack of root) refused. */
  setup(): string | null {
    if (process.getuid?.() !== 0) return 'network namespaces need root';
    try {
      ip('netns', 'add', this.bridgeNs);
      ip('-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', this.bridgeNs, 'link', 'set', 'br0', 'up');
      this.hosts.forEach((h, i) => {
        ip('netns', 'add', h.ns);
        ip('-n', this.bridgeNs, 'link', 'add', `s${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns);
        ip('-n', this.bridgeNs, 'link', 'set', `s${i}`, 'master', 'br0', 'up');
        ip('-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0');
        ip('-n', h.ns, 'link', 'set', 'eth0', 'up');
        ip('-n', h.ns, 'link', 'set', 'lo', 'up');
      });
      return null;
    } catch (error) {
      this.teardown();
      const e = error as { stderr?: Buffer; message: string };
      return `the kernel refused to build the test network (${(e.stderr?.toString() || e.message).trim()})`;
    }
  }

  teardown(): void {
    for (const ns of [this.bridgeNs, ...this.hosts.map((h) => h.ns)]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // not created
      }
    }
  }
}
