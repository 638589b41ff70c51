#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point for the `larder` command: runs the compiled daemon CLI (npm run build).
// V8 flags go on the line above (and in the `start` script and the tray's
// fork, electron/main/launchers.ts), never set from inside the process.
import { main } from '../dist/daemon/cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
