// Typed view of the addon's checkpoint/restart functions (`binding.cr`).
import { binding } from '../native';

export interface CriuLocation {
  path: string;
  source: 'option' | 'env' | 'provisioned' | 'path';
}

export interface CrBinding {
  locateCriu(explicitPath: string, packageRoot: string): CriuLocation;
}

export const cr = binding.cr as CrBinding;
