/**
 * electron-builder afterPack hook (electron-builder.yml → afterPack): flips
 * the fuses of the packed Electron binary to FUSES, like Forge's
 * FusesPlugin. Bundled to dist/electron/packaging/after-pack.cjs by
 * electron/build.ts.
 */
import { join } from 'node:path';
import { flipFuses } from '@electron/fuses';
import { FUSES } from './fuses.js';

/** The part of electron-builder's AfterPackContext used here. */
export interface AfterPackContextLike {
  appOutDir: string;
  electronPlatformName: string;
  /** electron-builder's Arch enum: 1 = x64, 3 = arm64, 4 = universal. */
  arch: number;
  packager: { appInfo: { productFilename: string }; executableName?: string };
}

const ARM64 = 3;

/** Path of the Electron executable (or .app bundle) inside the packed output. */
export function packedElectronPath(ctx: AfterPackContextLike): string {
  const name = ctx.packager.appInfo.productFilename;
  switch (ctx.electronPlatformName) {
    case 'darwin':
    case 'mas':
      return join(ctx.appOutDir, `${name}.app`);
    case 'win32':
      return join(ctx.appOutDir, `${name}.exe`);
    default:
      return join(ctx.appOutDir, ctx.packager.executableName ?? name);
  }
}

/** The hook: flips fuses; returns how many fuse wires were written. */
export async function afterPack(ctx: AfterPackContextLike): Promise<number> {
  const mac = ctx.electronPlatformName === 'darwin' || ctx.electronPlatformName === 'mas';
  return flipFuses(packedElectronPath(ctx), { ...FUSES, resetAdHocDarwinSignature: mac && ctx.arch === ARM64 });
}

export default afterPack;
