import { main } from '../main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`vsd: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
