/** Every ecosystem bench module, one line each (phase `eco` of `npm run bench`). */
import { cargoBench } from './cargo.js';
import { condaBench } from './conda.js';
import type { EcoBench } from './contract.js';
import { gemsBench } from './gems.js';
import { helmBench } from './helm.js';
import { huggingfaceBench } from './huggingface.js';

// biome-ignore format: one ecosystem per line, so adding one is a one-line change
export const ECO_BENCHES: readonly EcoBench[] = [
  cargoBench,
  huggingfaceBench,
  gemsBench,
  helmBench,
  condaBench,
];
