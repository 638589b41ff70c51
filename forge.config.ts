/**
 * Electron Forge packaging config for the Larder tray app (`npm run
 * app:make`; needs @electron-forge/cli and its makers installed, and the
 * Electron binary). electron-builder.yml is the other route (AppImage, deb,
 * dmg, nsis: `npm run dist:*`). Both ship the same locked-down fuses
 * (electron/packaging/fuses.ts) and the same files: the built daemon,
 * dashboard and Electron bundles, production node_modules and package.json.
 */
import type { ForgeConfig } from '@electron-forge/shared-types';
import { FusesPlugin } from '@electron-forge/plugin-fuses';
import { FUSES } from './electron/packaging/fuses.js';

/** Paths (relative to the project, with a leading slash) that go into the app. */
const SHIPPED = [
  /^\/package\.json$/,
  /^\/dist(\/(daemon|renderer)(\/.*)?)?$/,
  /^\/dist\/electron(\/(main|preload)(\/.*)?|\/daemon-host\.js)?$/,
  /^\/node_modules(\/.*)?$/,
];

/** Packager ignore filter: everything except SHIPPED, and never source maps. */
export function ignored(path: string): boolean {
  if (path === '') return false;
  if (path.endsWith('.map')) return true;
  return !SHIPPED.some((re) => re.test(path));
}

const config: ForgeConfig = {
  packagerConfig: {
    name: 'Larder',
    executableName: 'larder-app',
    appBundleId: 'dev.larder.app',
    appCategoryType: 'public.app-category.developer-tools',
    asar: { unpack: '**/{lmdb,@lmdb,msgpackr-extract,@msgpackr-extract}/**' },
    icon: 'resources/icons/larder',
    extraResource: ['resources/tray'],
    extendInfo: { LSUIElement: true },
    ignore: ignored,
    osxSign: {},
  },
  rebuildConfig: {},
  makers: [
    { name: '@electron-forge/maker-zip', platforms: ['darwin', 'linux'], config: {} },
    { name: '@electron-forge/maker-dmg', platforms: ['darwin'], config: { format: 'ULFO', icon: 'resources/icons/larder.icns' } },
    {
      name: '@electron-forge/maker-deb',
      platforms: ['linux'],
      config: {
        options: {
          name: 'larder-app',
          productName: 'Larder',
          maintainer: 'Larder developers',
          homepage: 'https://larder.dev',
          icon: 'resources/icons/larder.png',
          categories: ['Development'],
        },
      },
    },
    { name: '@electron-forge/maker-squirrel', platforms: ['win32'], config: { setupIcon: 'resources/icons/larder.ico' } },
  ],
  plugins: [new FusesPlugin(FUSES)],
};

export default config;
