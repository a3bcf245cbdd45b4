#!/usr/bin/env node
import "../dist/bin/vsd-agent.js";
