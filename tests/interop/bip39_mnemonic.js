// Reads hex entropies (one per line) on stdin; prints npm bip39's mnemonic for each.
const bip39 = require('bip39');
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
for (const hex of lines) console.log(bip39.entropyToMnemonic(hex));
