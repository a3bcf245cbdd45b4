process.stderr.write('vsctl: not implemented yet\n');
process.exitCode = 2;
