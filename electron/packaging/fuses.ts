/**
 * The Electron fuses of every packaged build, shared by forge.config.ts
 * (FusesPlugin) and the electron-builder afterPack hook (after-pack.ts), so
 * both packagers ship the same locked-down binary: no RunAsNode, no
 * NODE_OPTIONS or --inspect, app code only from a verified asar, no extra
 * file:// privileges.
 */
import { FuseV1Options, FuseVersion, type FuseV1Config } from '@electron/fuses';

/** Fuse settings (all fuses explicit; strictlyRequireAllFuses catches new ones). */
export const FUSES = {
  version: FuseVersion.V1,
  strictlyRequireAllFuses: true,
  [FuseV1Options.RunAsNode]: false,
  [FuseV1Options.EnableCookieEncryption]: true,
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: false,
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
} satisfies FuseV1Config;
