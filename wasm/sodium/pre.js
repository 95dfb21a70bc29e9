// Loads libsodium (npm libsodium-wrappers-sumo) before main() runs: sodium_js.cpp calls it as
// Module.sodium. Under node it is required from the project's node_modules; a page sets
// Module.sodium itself before loading the module.
Module['preRun'] = Module['preRun'] || [];
Module['preRun'].push(function () {
  if (Module['sodium']) return;
  addRunDependency('libsodium');
  var sodium = require('libsodium-wrappers-sumo');
  sodium.ready.then(function () {
    Module['sodium'] = sodium;
    removeRunDependency('libsodium');
  });
});

// Bytes of our heap in and out of libsodium's calls (sodium_js.cpp).
function wzpIn(p, n) { return n ? HEAPU8.slice(p, p + n) : new Uint8Array(0); }
function wzpOut(p, bytes) { HEAPU8.set(bytes, p); }
