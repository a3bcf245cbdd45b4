#!/usr/bin/env -S node --lite-mode --no-expose-wasm --max-semi-space-size=1 --max-old-space-size=24
// The agent runs on every real server next to the real workload: it trades V8's optimising tiers and a large heap
// (it does little work per second) for memory, which keeps its RSS under 60 MB. Heap sizes only take effect on
// the command line (the shebang above, or `node --lite-mode --no-expose-wasm --max-semi-space-size=1
// --max-old-space-size=24`); lite mode is also switched on here for a plain `node vsd-agent.js`, before the
// application is compiled. --no-expose-wasm: lite mode has no WebAssembly compiler, and without the flag V8 warns
// "disabling flag --expose_wasm due to conflicting flags" on every run (the agent uses no WebAssembly).
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--lite-mode');
await import('../dist/bin/vsd-agent.js');
