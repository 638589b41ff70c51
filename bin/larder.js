#!/usr/bin/env node
// Entry point for the `larder` command: runs the compiled daemon CLI (npm run build).
import { main } from '../dist/daemon/cli.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : err); process.exitCode = 1; },
);
