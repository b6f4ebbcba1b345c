// A fetch client generated from the served document; no unsafeDisableValidation: orval validates it first.
module.exports = {
  seecodes: {
    input: { target: "./openapi.json" },
    output: { target: "./out/seecodes.ts", client: "fetch" },
  },
};
