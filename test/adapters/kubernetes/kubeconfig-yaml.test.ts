/**
 * The YAML that people who write kubeconfig by hand use beyond what tools write: anchors, aliases,
 * merge keys and flow collections over several lines. Each expected value is what kubectl's reader
 * (sigs.k8s.io/yaml v1.6.0 over go-yaml v2.4.4, YAMLToJSON) gives for the same text, checked with
 * a small Go program when these cases were written.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseYaml, YamlError } from "../../../adapters/kubernetes/yaml.ts";

const same = (text: string, expected: unknown): void => assert.deepEqual(parseYaml(text), expected, text);

describe("anchors and aliases", () => {
  it("an anchored mapping used again under another name", () => {
    same(
      `clusters:
- name: prod
  cluster: &prod
    server: https://prod.example:6443
    certificate-authority-data: Q0E=
- name: prod-admin
  cluster: *prod
`,
      {
        clusters: [
          { name: "prod", cluster: { server: "https://prod.example:6443", "certificate-authority-data": "Q0E=" } },
          { name: "prod-admin", cluster: { server: "https://prod.example:6443", "certificate-authority-data": "Q0E=" } },
        ],
      },
    );
  });

  it("scalars, flow collections and sequence entries", () => {
    same("a: &x-y_1 v\nb: *x-y_1\n", { a: "v", b: "v" });
    same("a: [&x 1, *x]\nb: {<<: {c: 1}, d: *x}\n", { a: [1, 1], b: { c: 1, d: 1 } });
    same("- &x a\n- *x\n- &y\n  k: v\n- *y\n", ["a", "a", { k: "v" }, { k: "v" }]);
    same("a: &a\n  - 1\nb: *a\n", { a: [1], b: [1] });
    // kubectl's unindented sequence under an anchored key
    same("k: &a\n- 1\n- 2\nj: *a\n", { k: [1, 2], j: [1, 2] });
    same("a: [&a x]\nb: *a  # the same\n", { a: ["x"], b: "x" });
  });

  it("the last definition of a name is the one an alias sees", () => {
    same("a: &x 1\nb: *x\nc: &x 2\nd: *x\n", { a: 1, b: 1, c: 2, d: 2 });
  });

  it("aliases that would expand to more than 100 000 values are refused", () => {
    let text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (let n = 1; n < 8; n++) text += `a${n}: &a${n} [${Array(10).fill(`*a${n - 1}`).join(", ")}]\n`;
    assert.throws(() => parseYaml(text), (e: unknown) => e instanceof YamlError && /excessive aliasing/.test(e.message) && e.line === 5);
  });
});

describe("merge keys, in go-yaml v2's order", () => {
  it("a user built on another", () => {
    same(
      `users:
- name: base
  user: &base
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
- name: with-token
  user:
    <<: *base
    token: abc
`,
      {
        users: [
          { name: "base", user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "aws", args: ["eks", "get-token", "--cluster-name", "prod"] } } },
          { name: "with-token", user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "aws", args: ["eks", "get-token", "--cluster-name", "prod"] }, token: "abc" } },
        ],
      },
    );
  });

  it("a key before << is overwritten by the merge; a key after it wins", () => {
    // YAML's own merge-key text says explicit keys always win; kubectl's reader does this instead.
    same("a: 1\n<<: {a: 2, b: 3}\nb: 4\n", { a: 2, b: 4 });
    same("m: &m {k: 1}\nq:\n  k: 0\n  <<: *m\n", { m: { k: 1 }, q: { k: 1 } });
  });

  it("in a list, earlier maps win; several << keys each merge", () => {
    same("base: &b {a: 1}\nother: &o {a: 2, c: 3}\nm:\n  <<: [*b, *o]\n", { base: { a: 1 }, other: { a: 2, c: 3 }, m: { a: 1, c: 3 } });
    same("m: &m {a: 1}\nx:\n  <<: *m\n  <<: {b: 2}\n", { m: { a: 1 }, x: { a: 1, b: 2 } });
  });

  it("a quoted << is an ordinary key", () => {
    same('"<<": {a: 1}\n', { "<<": { a: 1 } });
    same('a: {"<<": 1}\n', { a: { "<<": 1 } });
  });

  it("only a mapping, or a list written out of mappings, can be merged", () => {
    for (const text of ["a: 1\n<<: ~\n", "l: &l [a]\nm:\n  <<: *l\n", "l: &l [{a: 1}]\nm:\n  <<: *l\n", "m:\n  <<: [1]\n"]) {
      assert.throws(() => parseYaml(text), /merge key \(<<\) whose value is not a mapping/, text);
    }
  });
});

describe("flow collections over several lines", () => {
  it("with comments, trailing commas and any indentation", () => {
    same(
      `args: [
  get-token,  # the verb
  --cluster, "prod",
]
env: {
  a: 1,
  b: [x,
 z]}
c: [ # open
  1 # one
  , 2]
`,
      { args: ["get-token", "--cluster", "prod"], env: { a: 1, b: ["x", "z"] }, c: [1, 2] },
    );
    same("a: {x: 1,\n}\nb: [\n]\n", { a: { x: 1 }, b: [] });
  });

  it("a whole file in flow style, which is not JSON", () => {
    same("{\n  apiVersion: v1,\n  clusters: [],\n}\n", { apiVersion: "v1", clusters: [] });
    same("[a,\n b]", ["a", "b"]);
  });

  it("one never closed says where it opened", () => {
    assert.throws(() => parseYaml("a: 1\nb: [c,\n  d\n"), (e: unknown) => e instanceof YamlError && e.line === 2 && e.column === 4 && /never closed/.test(e.message));
    assert.throws(() => parseYaml("a: {b: 1,\n---\n"), /document marker inside \{ \}/);
  });
});
