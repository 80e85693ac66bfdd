// Typed event maps (node:events' EventEmitter<Events>) name every event an emitter may emit, so
// these two, which every EventEmitter emits itself, belong in each map.

// biome-ignore lint/suspicious/noExplicitAny: node:events types listeners this way
type AnyListener = (...args: any[]) => void;

export interface ListenerEvents {
  newListener: [eventName: string | symbol, listener: AnyListener];
  removeListener: [eventName: string | symbol, listener: AnyListener];
}
