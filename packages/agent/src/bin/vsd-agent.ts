process.stderr.write('vsd-agent: not implemented yet\n');
process.exitCode = 2;
