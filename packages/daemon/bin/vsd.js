#!/usr/bin/env node
import '../dist/bin/vsd.js';
