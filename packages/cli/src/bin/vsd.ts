process.stderr.write('vsd: not implemented yet\n');
process.exitCode = 2;
