process.stderr.write('vsadm: not implemented yet\n');
process.exitCode = 2;
