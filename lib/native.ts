// Loads the compiled addon: a prebuild from prebuilds/<platform>-<arch>/ first, then
// build/Release (node-gyp-build's order). Subsystems cast `binding` to their own typed view
// (lib/ftb/native.ts, lib/cr/native.ts) so no file here grows with every feature.
import path from 'node:path';
import { CrftbError, type CrftbErrorOptions } from './errors';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeGypBuild: { (dir: string): unknown; path(dir: string): string } = require('node-gyp-build');

export const packageRoot = path.join(__dirname, '..');

export const binding = nodeGypBuild(packageRoot) as Record<string, unknown>;

// The addon's errors get their shape from lib/errors.ts (native/common/js_error.h).
function makeError(code: string, message: string, facts: CrftbErrorOptions): CrftbError {
  const error = new CrftbError(code, message, facts);
  Error.captureStackTrace(error, makeError); // the stack starts at the call into the addon
  return error;
}
(binding.setErrorFactory as (make: typeof makeError) => void)(makeError);

/** Absolute path of the addon file that was loaded (prebuild or local build). */
export function bindingPath(): string {
  return nodeGypBuild.path(packageRoot);
}

export interface NativeInfo {
  napiVersion: number;
  libc: string;
  ftbProtocol: string;
  ftbMessageSize: number;
}

export function nativeInfo(): NativeInfo & { addonPath: string } {
  const info = (binding.nativeInfo as () => NativeInfo)();
  return { ...info, addonPath: bindingPath() };
}
