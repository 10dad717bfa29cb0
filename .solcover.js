// solidity-coverage: instrument the protocol, not the doubles.
module.exports = {
  skipFiles: ["mocks/", "test/", "governance/"],
  istanbulReporter: ["text", "json-summary", "lcov"],
  mocha: { timeout: 600000 },
};
