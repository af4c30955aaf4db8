#!/usr/bin/env node
// The `earshot` command. A checked-in file (not dist/) so npm can link it before the build.
import "../dist/main.js";
