#!/usr/bin/env node
import '../dist/bin/vsctl.js';
