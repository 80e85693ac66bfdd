export { nativeInfo } from './native';
export type { NativeInfo } from './native';
export { isCrftbError } from './errors';
export type { CrftbError } from './errors';

export * from './ftb';

export * from './cr';

export * from './launcher';
