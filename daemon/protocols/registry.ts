/**
 * Every protocol Larder serves, one line each. This is the only module that
 * imports a protocol folder; adding an ecosystem is its folder plus a line
 * here (and a fixture in test/conformance/fixtures.ts). Order matters only
 * where two protocols could claim the same thing (lockfile names; mounts
 * are matched longest first).
 */
import { cargoProtocol } from './cargo/index.js';
import { condaProtocol } from './conda/index.js';
import type { Protocol } from './contract.js';
import { filesProtocol } from './generic/index.js';
import { gemsProtocol } from './gems/index.js';
import { goProtocol } from './go/index.js';
import { huggingfaceProtocol } from './huggingface/index.js';
import { helmProtocol } from './helm/index.js';
import { npmProtocol } from './npm/index.js';
import { ociProtocol } from './oci/index.js';
import { pypiProtocol } from './pypi/index.js';

// biome-ignore format: one protocol per line, so adding one is a one-line change
export const PROTOCOLS: readonly Protocol[] = [
  npmProtocol,
  pypiProtocol,
  goProtocol,
  filesProtocol,
  ociProtocol,
  cargoProtocol,
  huggingfaceProtocol,
  gemsProtocol,
  helmProtocol,
  condaProtocol,
];
