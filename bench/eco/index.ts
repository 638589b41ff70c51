/** Every ecosystem bench module, one line each (phase `eco` of `npm run bench`). */
import { condaBench } from './conda.js';
import type { EcoBench } from './contract.js';
import { helmBench } from './helm.js';

// biome-ignore format: one ecosystem per line, so adding one is a one-line change
export const ECO_BENCHES: readonly EcoBench[] = [
  helmBench,
  condaBench,
];
