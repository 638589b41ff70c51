/**
 * Electron Forge packaging config for the Larder tray app. It cannot run on
 * machines without the Electron binary, but it type-checks and is complete:
 * fuses are locked down as in Electron Fiddle.
 */
import type { ForgeConfig } from '@electron-forge/shared-types';
import { FusesPlugin } from '@electron-forge/plugin-fuses';
import { FuseV1Options, FuseVersion } from '@electron/fuses';

const config: ForgeConfig = {
  packagerConfig: {
    name: 'Larder',
    executableName: 'larder',
    appBundleId: 'dev.larder.app',
    asar: true,
    icon: 'resources/icons/larder',
    extraResource: ['resources/tray'],
    osxSign: {},
  },
  rebuildConfig: {},
  makers: [
    { name: '@electron-forge/maker-zip', platforms: ['darwin', 'linux'], config: {} },
    { name: '@electron-forge/maker-deb', config: { options: { maintainer: 'Larder developers', homepage: 'https://larder.dev' } } },
    { name: '@electron-forge/maker-squirrel', config: {} },
  ],
  plugins: [
    new FusesPlugin({
      version: FuseVersion.V1,
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableCookieEncryption]: true,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
    }),
  ],
};

export default config;
