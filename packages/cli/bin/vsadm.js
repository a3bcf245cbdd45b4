#!/usr/bin/env node
import '../dist/bin/vsadm.js';
