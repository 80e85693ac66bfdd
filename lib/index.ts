export { nativeInfo } from './native';
export type { NativeInfo } from './native';
export { isCrftbError, CrftbError } from './errors';

export * from './ftb';

export * from './cr';

export * from './launcher';
