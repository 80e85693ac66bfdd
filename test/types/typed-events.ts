// Compiled by `npm run typecheck` (tsconfig.test.json), never run: the event names and listener
// arguments of the emitters crftb returns are typed. Each `@ts-expect-error` line must fail to
// compile - an unknown event name or a listener with the wrong arguments - or the typecheck fails.
import type { Agent, BootstrapServer, CrftbError, FtbReceivedEvent, FtbSubscription } from '../../lib/index';
import type { AgentTreeEvent } from '../../lib/ftb/agent';

declare const sub: FtbSubscription;
declare const agent: Agent;
declare const server: BootstrapServer;

// A subscription: the listener's argument is typed without an annotation.
sub.on('event', (e) => {
  const name: string = e.name;
  const pid: number = e.sourcePid;
  const payload: Buffer = e.payload;
  void [name, pid, payload];
});
sub.once('event', (e: FtbReceivedEvent) => void e);
sub.on('warning', (error) => {
  const code: string = error.code;
  const crftb: CrftbError = error;
  void [code, crftb];
});
sub.on('close', () => undefined);
sub.on('readable', () => undefined);
sub.off('event', (e) => void e.seqnum);
sub.on('newListener', (name) => void name);

// @ts-expect-error no such event
sub.on('events', (e) => void e);
// @ts-expect-error no such event
sub.once('message', () => undefined);
// @ts-expect-error the listener gets an FtbReceivedEvent, not a string
sub.on('event', (e: string) => void e);
// @ts-expect-error close passes no arguments
sub.on('close', (reason: string) => void reason);
sub.on('event', (e) => {
  // @ts-expect-error FtbReceivedEvent has no such field
  void e.nonexistent;
});

// An agent: 'tree' and the kinds it emits on their own.
agent.on('tree', (e) => {
  const level: number = e.level;
  void level;
});
agent.once('attached', (e: AgentTreeEvent) => void e.parent);
agent.on('parent-lost', (e) => void e.detail);
agent.on('bootstrap-unreachable', (e) => void e.kind);
// @ts-expect-error 'error' is reported as 'tree' (an unhandled 'error' would throw), not on its own
agent.on('error', () => undefined);
// @ts-expect-error no such event
agent.on('attach', () => undefined);
// @ts-expect-error the listener gets an AgentTreeEvent
agent.on('tree', (e: number) => void e);

// A bootstrap server emits nothing of its own.
server.on('newListener', () => undefined);
// @ts-expect-error no such event
server.on('tree', () => undefined);
