// Typed event maps (node:events' EventEmitter<Events>) name every event an emitter may emit, so
// these two, which every EventEmitter emits itself, belong in each map.

type AnyListener = (...args: any[]) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ListenerEvents {
  newListener: [eventName: string | symbol, listener: AnyListener];
  removeListener: [eventName: string | symbol, listener: AnyListener];
}
