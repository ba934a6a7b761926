#!/usr/bin/env node
'use strict';
// The published entry: the bundled program in dist/ (built by `npm run build`).
require('../dist/kubectl-dev.cjs');
