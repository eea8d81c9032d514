/**
 * The kubeconfig YAML subset: real files from kubectl, kind, minikube and the EKS/GKE/AKS tools as
 * exact objects, the scalar, block scalar, quoting and flow rules one by one, every rejection with
 * its line and column, and a round trip through a small emitter for everything else.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseYaml, YamlError } from "../../../adapters/kubernetes/yaml.ts";

/** Base64 of a PEM, as long as a real one (about 1.5 KB on one line). */
const pem = (label: string, body: string): string => btoa(`-----BEGIN ${label}-----\n${body.repeat(20)}\n-----END ${label}-----\n`);
const CA = pem("CERTIFICATE", "MIIC5zCCAc+gAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl");
const CERT = pem("CERTIFICATE", "MIIDITCCAgmgAwIBAgIIb2Nc3YqSq5QwDQYJKoZIhvcNAQELBQAwFTETMBEGA1UE");
const KEY = pem("RSA PRIVATE KEY", "MIIEowIBAAKCAQEAxq1r7vZ0kV2mZ8dC0cBq3b0f1yGx9Zk4cQ2vV8r1Jf7oT0Ab");

const errorOf = (src: string): YamlError => {
  try {
    parseYaml(src);
  } catch (error) {
    if (error instanceof YamlError) return error;
    throw error;
  }
  return assert.fail(`expected a YamlError for ${JSON.stringify(src)}`);
};

describe("real kubeconfig files", () => {
  // `kubectl config view --raw` with a kind cluster and a token user: sequences not indented.
  const KUBECTL = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${CA}
    server: https://127.0.0.1:6443
  name: kind-kind
- cluster:
    certificate-authority-data: ${CA}
    server: https://10.0.0.1
    tls-server-name: kubernetes.default.svc
  name: staging
contexts:
- context:
    cluster: kind-kind
    user: kind-kind
  name: kind-kind
- context:
    cluster: staging
    namespace: leader-election
    user: staging-admin
  name: staging
current-context: kind-kind
kind: Config
preferences: {}
users:
- name: kind-kind
  user:
    client-certificate-data: ${CERT}
    client-key-data: ${KEY}
- name: staging-admin
  user:
    token: eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJl
`;
  const KUBECTL_OBJECT = {
    apiVersion: "v1",
    clusters: [
      { cluster: { "certificate-authority-data": CA, server: "https://127.0.0.1:6443" }, name: "kind-kind" },
      { cluster: { "certificate-authority-data": CA, server: "https://10.0.0.1", "tls-server-name": "kubernetes.default.svc" }, name: "staging" },
    ],
    contexts: [
      { context: { cluster: "kind-kind", user: "kind-kind" }, name: "kind-kind" },
      { context: { cluster: "staging", namespace: "leader-election", user: "staging-admin" }, name: "staging" },
    ],
    "current-context": "kind-kind",
    kind: "Config",
    preferences: {},
    users: [
      { name: "kind-kind", user: { "client-certificate-data": CERT, "client-key-data": KEY } },
      { name: "staging-admin", user: { token: "eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJl" } },
    ],
  };

  it("kubectl config view --raw (kind, client certificate data, token)", () => {
    assert.deepEqual(parseYaml(KUBECTL), KUBECTL_OBJECT);
  });

  it("the same file with CRLF line endings and a byte order mark", () => {
    assert.deepEqual(parseYaml(`\uFEFF${KUBECTL.replaceAll("\n", "\r\n")}`), KUBECTL_OBJECT);
  });

  it("the same file as JSON", () => {
    assert.deepEqual(parseYaml(JSON.stringify(KUBECTL_OBJECT, null, 2)), KUBECTL_OBJECT);
    assert.deepEqual(parseYaml(`\uFEFF  ${JSON.stringify(KUBECTL_OBJECT)}\r\n`), KUBECTL_OBJECT);
  });

  it("aws eks update-kubeconfig: an exec plugin with args and an env list", () => {
    const arn = "arn:aws:eks:us-west-2:123456789012:cluster/prod";
    const src = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${CA}
    server: https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com
  name: ${arn}
contexts:
- context:
    cluster: ${arn}
    user: ${arn}
  name: ${arn}
current-context: ${arn}
kind: Config
preferences: {}
users:
- name: ${arn}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - --region
      - us-west-2
      - eks
      - get-token
      - --cluster-name
      - prod
      - --output
      - json
      command: aws
      env:
      - name: AWS_PROFILE
        value: prod
      - name: AWS_STS_REGIONAL_ENDPOINTS
        value: regional
      interactiveMode: IfAvailable
      provideClusterInfo: false
`;
    assert.deepEqual(parseYaml(src), {
      apiVersion: "v1",
      clusters: [{ cluster: { "certificate-authority-data": CA, server: "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com" }, name: arn }],
      contexts: [{ context: { cluster: arn, user: arn }, name: arn }],
      "current-context": arn,
      kind: "Config",
      preferences: {},
      users: [
        {
          name: arn,
          user: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1beta1",
              args: ["--region", "us-west-2", "eks", "get-token", "--cluster-name", "prod", "--output", "json"],
              command: "aws",
              env: [
                { name: "AWS_PROFILE", value: "prod" },
                { name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" },
              ],
              interactiveMode: "IfAvailable",
              provideClusterInfo: false,
            },
          },
        },
      ],
    });
  });

  it("gcloud: go-yaml wraps a long installHint onto a more-indented line", () => {
    const src = `users:
- name: gke_my-project_us-central1-a_prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      installHint: Install gke-gcloud-auth-plugin for use with kubectl by following
        https://cloud.google.com/blog/products/containers-kubernetes/kubectl-auth-changes-in-gke
      provideClusterInfo: true
`;
    assert.deepEqual(parseYaml(src), {
      users: [
        {
          name: "gke_my-project_us-central1-a_prod",
          user: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1beta1",
              command: "gke-gcloud-auth-plugin",
              installHint:
                "Install gke-gcloud-auth-plugin for use with kubectl by following https://cloud.google.com/blog/products/containers-kubernetes/kubectl-auth-changes-in-gke",
              provideClusterInfo: true,
            },
          },
        },
      ],
    });
  });

  it("az aks get-credentials / kubelogin: installHint as a |2 block scalar with a leading empty line", () => {
    const src = `users:
- name: clusterUser_rg_aks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - get-token
      - --server-id
      - 6dae42f8-4368-4678-94ff-3960e28e3630
      - --login
      - devicecode
      command: kubelogin
      env: null
      installHint: |2

        kubelogin is not installed which is required to connect to AAD enabled cluster.

        To learn more, please go to https://aka.ms/aks/kubelogin
      provideClusterInfo: false
`;
    assert.deepEqual(parseYaml(src), {
      users: [
        {
          name: "clusterUser_rg_aks",
          user: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1beta1",
              args: ["get-token", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630", "--login", "devicecode"],
              command: "kubelogin",
              env: null,
              installHint: "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\nTo learn more, please go to https://aka.ms/aks/kubelogin\n",
              provideClusterInfo: false,
            },
          },
        },
      ],
    });
  });

  it("minikube: file paths, extensions with a date, insecure-skip-tls-verify", () => {
    const src = `apiVersion: v1
clusters:
- cluster:
    certificate-authority: /home/dev/.minikube/ca.crt
    extensions:
    - extension:
        last-update: Mon, 01 Jan 2024 10:00:00 UTC
        provider: minikube.sigs.k8s.io
        version: v1.32.0
      name: cluster_info
    server: https://192.168.49.2:8443
  name: minikube
- cluster:
    insecure-skip-tls-verify: true
    server: https://192.168.49.3:8443
  name: scratch
contexts:
- context:
    cluster: minikube
    extensions:
    - extension:
        last-update: Mon, 01 Jan 2024 10:00:00 UTC
        provider: minikube.sigs.k8s.io
        version: v1.32.0
      name: context_info
    namespace: default
    user: minikube
  name: minikube
current-context: minikube
kind: Config
preferences: {}
users:
- name: minikube
  user:
    client-certificate: /home/dev/.minikube/profiles/minikube/client.crt
    client-key: /home/dev/.minikube/profiles/minikube/client.key
`;
    const extension = { "last-update": "Mon, 01 Jan 2024 10:00:00 UTC", provider: "minikube.sigs.k8s.io", version: "v1.32.0" };
    assert.deepEqual(parseYaml(src), {
      apiVersion: "v1",
      clusters: [
        {
          cluster: {
            "certificate-authority": "/home/dev/.minikube/ca.crt",
            extensions: [{ extension, name: "cluster_info" }],
            server: "https://192.168.49.2:8443",
          },
          name: "minikube",
        },
        { cluster: { "insecure-skip-tls-verify": true, server: "https://192.168.49.3:8443" }, name: "scratch" },
      ],
      contexts: [
        {
          context: { cluster: "minikube", extensions: [{ extension, name: "context_info" }], namespace: "default", user: "minikube" },
          name: "minikube",
        },
      ],
      "current-context": "minikube",
      kind: "Config",
      preferences: {},
      users: [
        {
          name: "minikube",
          user: {
            "client-certificate": "/home/dev/.minikube/profiles/minikube/client.crt",
            "client-key": "/home/dev/.minikube/profiles/minikube/client.key",
          },
        },
      ],
    });
  });

  it("hand-written: quotes, comments, flow collections, indented sequences, document markers", () => {
    const src = `# Written by hand for the staging cluster.
---
apiVersion: "v1"   # quoted
kind: 'Config'

clusters:
  - name: "staging"          # the name kubectl shows
    cluster:
      server: 'https://staging.example.com:6443'   # behind the VPN
      insecure-skip-tls-verify: true
      proxy-url: http://proxy.internal:3128

users:
  # a static token, rotated monthly
  - name: dev
    user:
      token: "abc#123"    # a '#' inside quotes is not a comment
      username: 'o''brien'
      password: p#ss word
  - name: "azure"
    user:
      exec:
        command: "C:\\\\Program Files\\\\kubelogin.exe"
        args: ["get-token", '--login', azurecli, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]
        env: null
        apiVersion: client.authentication.k8s.io/v1beta1
contexts:
  - name: dev@staging
    context: {cluster: staging, user: dev, namespace: "kube-system"}
"current-context": "dev@staging"
preferences: {}
...
# trailing comment
`;
    assert.deepEqual(parseYaml(src), {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "staging",
          cluster: { server: "https://staging.example.com:6443", "insecure-skip-tls-verify": true, "proxy-url": "http://proxy.internal:3128" },
        },
      ],
      users: [
        { name: "dev", user: { token: "abc#123", username: "o'brien", password: "p#ss word" } },
        {
          name: "azure",
          user: {
            exec: {
              command: "C:\\Program Files\\kubelogin.exe",
              args: ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"],
              env: null,
              apiVersion: "client.authentication.k8s.io/v1beta1",
            },
          },
        },
      ],
      contexts: [{ name: "dev@staging", context: { cluster: "staging", user: "dev", namespace: "kube-system" } }],
      "current-context": "dev@staging",
      preferences: {},
    });
  });

  it("an empty file, or one with only comments, is null", () => {
    for (const src of ["", "\n\n", "# nothing\n", "---\n", "\uFEFF"]) assert.equal(parseYaml(src), null, JSON.stringify(src));
  });

  // Not timed against this machine's speed (other work runs beside the suite): a parser quadratic
  // in the line length would need hours for 4 MB, far past the timeout; a linear one, seconds.
  it("a 4 MB certificate line and 20,000 users parse in linear time", { timeout: 60_000 }, () => {
    const big = "QUJD".repeat(1 << 20);
    const users = Array.from({ length: 20_000 }, (_, n) => `- name: user-${n}\n  user:\n    token: "t${n}"\n`).join("");
    const parsed = parseYaml(`clusters:\n- cluster:\n    certificate-authority-data: ${big}\n  name: big\nusers:\n${users}`) as {
      clusters: [{ cluster: Record<string, string> }];
      users: unknown[];
    };
    assert.equal(parsed.clusters[0].cluster["certificate-authority-data"], big);
    assert.deepEqual(parsed.users[19_999], { name: "user-19999", user: { token: "t19999" } });
  });
});

describe("plain scalars: typed as kubectl's go-yaml v2 types them", () => {
  const cases: readonly (readonly [string, unknown])[] = [
    ["null", null],
    ["Null", null],
    ["NULL", null],
    ["~", null],
    ["", null],
    ["true", true],
    ["True", true],
    ["TRUE", true],
    ["false", false],
    ["False", false],
    ["FALSE", false],
    ["0", 0],
    ["-0", 0], // an integer: Go has no negative zero integer
    ["+12", 12],
    ["-17", -17],
    ["007", 7],
    // YAML 1.1 and Go's integer notation, as go-yaml v2 reads them (checked against go.yaml.in/yaml/v2 v2.4.4).
    ["y", true],
    ["Yes", true],
    ["ON", true],
    ["N", false],
    ["no", false],
    ["Off", false],
    ["0777", 511],
    ["-010", -8],
    ["08", 8],
    ["0b101", 5],
    ["0X1f", 31],
    ["0O17", 15],
    ["1_000", 1000],
    ["1_0.5", 10.5],
    ["0o17", 15],
    ["0x1F", 31],
    ["0xff", 255],
    ["1.5", 1.5],
    ["-.5", -0.5],
    ["1.", 1],
    ["6.02e23", 6.02e23],
    ["1E-3", 0.001],
    [".inf", Infinity],
    ["-.Inf", -Infinity],
    ["+.INF", Infinity],
    [".nan", NaN],
    ["9007199254740991", 9007199254740991],
    // Everything else is a string, also things that look like numbers.
    ["v1", "v1"],
    ["1.2.3", "1.2.3"],
    ["yES", "yES"],
    ["o", "o"],
    ["nULL", "nULL"],
    ["tRUE", "tRUE"],
    ["0x", "0x"],
    ["0o8", "0o8"],
    ["_1", "_1"],
    ["0b2", "0b2"],
    ["1e", "1e"],
    [".", "."],
    ["2024-01-01", "2024-01-01"],
    ["12:30:00", "12:30:00"],
    ["https://127.0.0.1:6443", "https://127.0.0.1:6443"],
    ["C:\\Users\\dev\\.kube", "C:\\Users\\dev\\.kube"],
    ["a:b", "a:b"],
    ["a b  c", "a b  c"],
    ["a#b", "a#b"],
    ["-a", "-a"],
    ["--flag=x", "--flag=x"],
    ["?a", "?a"],
    [":a", ":a"],
    ["a 'b' \"c\"", "a 'b' \"c\""],
    ["trailing spaces   ", "trailing spaces"],
    ["with a # comment", "with a"],
    ["tab\tinside", "tab\tinside"],
    ["\u00e9t\u00e9 \u{1f600}", "\u00e9t\u00e9 \u{1f600}"],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} is ${typeof expected === "number" ? String(expected) : JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseYaml(`k: ${text}`), { k: expected });
      assert.deepEqual(parseYaml(`- ${text}`), [expected]);
    });
  }

  it("quoted scalars are always strings", () => {
    assert.deepEqual(parseYaml(`a: "true"\nb: '1'\nc: "null"\nd: ''\ne: ""\nf: '~'`), { a: "true", b: "1", c: "null", d: "", e: "", f: "~" });
  });

  it("keys are always strings", () => {
    assert.deepEqual(parseYaml("1: a\ntrue: b\nnull: c\n~: d\n0x1F: e"), { "1": "a", true: "b", null: "c", "~": "d", "0x1F": "e" });
  });

  it("an integer a number cannot hold exactly is an error, not a rounded number", () => {
    const error = errorOf("a: 1\nb: 9007199254740993\n");
    assert.deepEqual([error.line, error.column], [2, 4]);
    assert.match(error.message, /cannot hold exactly/);
    assert.match(errorOf(`k: 1${"0".repeat(400)}`).message, /cannot hold exactly/);
    // A large double in its own shortest text (as JSON.stringify writes it) loses nothing.
    assert.deepEqual(parseYaml(`k: ${JSON.stringify(25234617916242030)}`), { k: 25234617916242030 });
    assert.deepEqual(parseYaml("- 9007199254740992\n- -100000000000000000000\n- 0x20000000000000"), [2 ** 53, -1e20, 2 ** 53]);
  });
});

describe("quoted scalars", () => {
  it("double-quoted escapes", () => {
    assert.deepEqual(parseYaml(String.raw`k: "a\"b\\c\nd\te\u00e9\U0001F600\x41\/\0\ \_\N\L\P\r\b\f\v\a\e"`), {
      k: 'a"b\\c\nd\te\u00e9\u{1f600}A/\0 \xa0\x85\u2028\u2029\r\b\f\v\x07\x1b',
    });
  });

  it("\\u escapes may write surrogates, paired or not (as JSON.stringify does)", () => {
    assert.deepEqual(parseYaml(String.raw`k: "\ud83d\ude00 \ud800"`), { k: "\u{1f600} \ud800" });
  });

  it("single-quoted: '' is a quote, backslashes are literal", () => {
    assert.deepEqual(parseYaml(String.raw`k: 'it''s C:\dir ''quoted'' '''`), { k: "it's C:\\dir 'quoted' '" });
  });

  it("quoted keys, with spaces, colons and a space before the colon", () => {
    assert.deepEqual(parseYaml(`"a: b": 1\n'c d' : 2\n"": 3\n"x\\ty": 4`), { "a: b": 1, "c d": 2, "": 3, "x\ty": 4 });
  });

  it("a quoted string wrapped onto more lines is folded: a break is a space, an empty line a newline", () => {
    assert.deepEqual(parseYaml(`k: "one two\n  three   \n    four\n\n  five\n\n\n  six"\nnext: 1`), { k: "one two three four\nfive\n\nsix", next: 1 });
    assert.deepEqual(parseYaml(`k: 'it''s\n  wrapped'`), { k: "it's wrapped" });
  });

  it("a backslash at the end of a line joins it to the next without a space", () => {
    assert.deepEqual(parseYaml(`- "abc\\\n   def \\\n  \\ ghi"`), ["abcdef  ghi"]);
  });
});

describe("plain scalars wrapped onto more-indented lines", () => {
  it("fold into one string, with empty lines as newlines", () => {
    assert.deepEqual(parseYaml("a: one\n  two\n    three\n\n  four\nb: x"), { a: "one two three\nfour", b: "x" });
    assert.deepEqual(parseYaml("- one\n  two\n- three"), ["one two", "three"]);
  });

  it("a comment ends the scalar", () => {
    assert.deepEqual(parseYaml("a: one\n  two # c\nb: x"), { a: "one two", b: "x" });
    const error = errorOf("a: one\n  # c\n  two\n");
    assert.deepEqual([error.line, error.column], [3, 3]);
  });

  it("a wrapped line may not hold ': '", () => {
    const error = errorOf("a: one\n  two: three\n");
    assert.deepEqual([error.line, error.column], [2, 6]);
  });

  it("the joined text is typed like any plain scalar", () => {
    assert.deepEqual(parseYaml("a: 1\n  2"), { a: "1 2" });
  });
});

describe("block scalars", () => {
  const cases: readonly (readonly [string, string, unknown])[] = [
    ["| keeps lines and one final newline", "k: |\n  a\n   b\n\n  c\n\n\nz: 1", { k: "a\n b\n\nc\n", z: 1 }],
    ["|- strips the final newline", "k: |-\n  a\n  b\n\nz: 1", { k: "a\nb", z: 1 }],
    ["|+ keeps all final newlines", "k: |+\n  a\n\n\nz: 1", { k: "a\n\n\n", z: 1 }],
    ["> folds lines into spaces, empty lines into newlines", "k: >\n  a\n  b\n\n  c\n", { k: "a b\nc\n" }],
    [">- folds and strips", "k: >-\n  a\n  b\n", { k: "a b" }],
    ["> keeps more-indented lines as they are", "k: >\n  a\n    b\n    c\n  d\n", { k: "a\n  b\n  c\nd\n" }],
    ["a comment on the header line", "k: | # c\n  a # not a comment\n", { k: "a # not a comment\n" }],
    ["leading empty lines are content", "k: |\n\n  a\n", { k: "\na\n" }],
    ["an indentation indicator, relative to the key's column", "  k: |1\n     a\n    b\n", { k: "  a\n b\n" }],
    ["an indentation indicator with chomping", "k: >-2\n   a\n  b\n", { k: " a\nb" }],
    ["empty", "k: |\nz: 1", { k: "", z: 1 }],
    ["empty, kept", "k: |+\n\nz: 1", { k: "\n", z: 1 }],
    ["empty, at the end of a file without a final line break", "- |+", [""]],
    ["in a sequence", "- |\n  a\n- >-\n  b\n  c\n", ["a\n", "b c"]],
    ["at the end of a file without a final line break: no line break to keep", "k: |\n  a", { k: "a" }],
    ["kept, at the end of a file without a final line break", "k: |+\n  a\n\n", { k: "a\n\n" }],
    ["clipped, at the end of a file without a final line break after an empty line", "k: |\n  a\n  ", { k: "a\n" }],
    ["with CRLF", "k: |\r\n  a\r\n  b\r\n", { k: "a\nb\n" }],
    ["a line of extra spaces is content", "k: |\n  a\n    \n  b\n", { k: "a\n  \nb\n" }],
    ["ends at a less indented comment", "k: |\n  a\n# c\nz: 1", { k: "a\n", z: 1 }],
  ];
  for (const [name, src, expected] of cases) it(name, () => assert.deepEqual(parseYaml(src), expected));
});

describe("structure", () => {
  it("kubectl's unindented sequences and indented ones mean the same", () => {
    const expected = { a: [{ b: 1, c: [2, 3] }, 4], d: 5 };
    assert.deepEqual(parseYaml("a:\n- b: 1\n  c:\n  - 2\n  - 3\n- 4\nd: 5"), expected);
    assert.deepEqual(parseYaml("a:\n  - b: 1\n    c:\n      - 2\n      - 3\n  - 4\nd: 5"), expected);
    assert.deepEqual(parseYaml("a:\n    -   b: 1\n        c:\n        -    2\n        - 3\n    - 4\nd: 5"), expected);
  });

  it("compact nested sequences, empty entries and empty values", () => {
    assert.deepEqual(parseYaml("- - a\n  - - b\n- -\n-\n- # c\n  x: 1\n- k:\n  l: ~"), [["a", ["b"]], [null], null, { x: 1 }, { k: null, l: null }]);
  });

  it("a mapping may start on the line after its dash", () => {
    assert.deepEqual(parseYaml("-\n  a: 1\n  b: 2"), [{ a: 1, b: 2 }]);
  });

  it("a document may be indented as a whole", () => {
    assert.deepEqual(parseYaml("  a: 1\n  b:\n    c: 2\n"), { a: 1, b: { c: 2 } });
  });

  it("a top-level scalar", () => {
    assert.deepEqual(parseYaml("--- # c\nhello\n..."), "hello");
    assert.deepEqual(parseYaml('"quoted"'), "quoted");
  });

  it("__proto__ is an ordinary key", () => {
    const parsed = parseYaml("__proto__:\n  polluted: true\nx: {__proto__: 1}") as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ["__proto__", "x"]);
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(parsed, "__proto__")?.value, { polluted: true });
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  });

  it("tabs may separate, though not indent", () => {
    assert.deepEqual(parseYaml("a:\tb\t# c\nc: d"), { a: "b", c: "d" });
  });
});

describe("flow collections on one line", () => {
  const cases: readonly (readonly [string, unknown])[] = [
    ["[]", []],
    ["{}", {}],
    ["[ ]", []],
    ['[a, b, "c", \'d\']', ["a", "b", "c", "d"]],
    ['{a: 1, b: "x"}', { a: 1, b: "x" }],
    ['{"a":1, "b" : [true, null, ~, 2.5]}', { a: 1, b: [true, null, null, 2.5] }],
    ["[[1, [2]], {c: {d: []}}]", [[1, [2]], { c: { d: [] } }]],
    ["[a, b,]", ["a", "b"]],
    ["{a: , b}", "error"],
    ["{a: , b: 2}", { a: null, b: 2 }],
    ["[https://x:6443/p, a:b, --flag]", ["https://x:6443/p", "a:b", "--flag"]],
    ["[a b, c d ] # comment", ["a b", "c d"]],
  ];
  for (const [text, expected] of cases) {
    it(text, () => {
      if (expected === "error") assert.throws(() => parseYaml(`k: ${text}`), YamlError);
      else assert.deepEqual(parseYaml(`k: ${text}`), { k: expected });
    });
  }

  it("as sequence entries", () => {
    assert.deepEqual(parseYaml("- [a]\n- {b: c}\n- []"), [["a"], { b: "c" }, []]);
  });
});

describe("errors say where and why", () => {
  const cases: readonly (readonly [string, string, number, number, RegExp])[] = [
    ["a tab in indentation", "a:\n\tb: 1\n", 2, 1, /tab in indentation/],
    ["a tab after spaces in indentation", "a:\n  \tb: 1\n", 2, 3, /tab in indentation/],
    ["a tab after a dash", "a:\n-\tb: 1\n", 2, 2, /tab after '-'/],
    ["a tag", "a: !!str 1\n", 1, 4, /tags/],
    ["an anchored key", "&a b: 1\n", 1, 1, /anchors and aliases go on values/],
    ["an alias to an anchor not defined yet", "a: *x\nb: &x 1\n", 1, 4, /unknown anchor \*x/],
    ["a merge key on a scalar", "a: 1\n<<: 2\n", 2, 1, /merge key \(<<\) whose value is not a mapping/],
    ["a complex key", "? a\n: b\n", 1, 1, /cannot start with "\?"/],
    ["a directive", "%YAML 1.2\n---\na: 1\n", 1, 1, /directive/],
    ["a second document", "a: 1\n---\nb: 2\n", 2, 1, /second document/],
    ["two document markers", "---\n---\nb: 2\n", 2, 1, /second document/],
    ["content after '...'", "a: 1\n...\nb: 2\n", 3, 1, /after the document end marker/],
    ["text after '---'", "--- a: 1\n", 1, 5, /unexpected "a: 1"/],
    ["a duplicate key", "a: 1\nb: 2\na: 3\n", 3, 1, /duplicate key "a" \(it is already on line 1\)/],
    ["a duplicate key, once quoted", "a: 1\n'a': 3\n", 2, 1, /duplicate key "a"/],
    ["a duplicate key in flow", "a: {b: 1, b: 2}\n", 1, 12, /duplicate key "b"/],
    ["a key indented too far (so a continuation of the value)", "a:\n  b: 1\n   c: 2\n", 3, 5, /': ' inside a plain value/],
    ["a key indented too little", "a:\n  b: 1\n c: 2\n", 3, 2, /unexpected indentation/],
    ["a sequence entry indented too far", "a:\n  - b: 1\n   - c\n", 3, 4, /unexpected indentation/],
    ["a compact mapping not lined up", "- a: 1\n b: 2\n", 2, 2, /unexpected indentation/],
    ["a sequence entry among keys", "a: 1\n- b\n", 2, 1, /sequence item among mapping keys/],
    ["a key after a top-level sequence", "- a\nb: 1\n", 2, 1, /does not fit/],
    ["a line that is not key: value", "a: 1\nb\n", 2, 1, /expected 'key: value'/],
    ["': ' in a plain value", "a: b: c\n", 1, 5, /': ' inside a plain value/],
    ["': ' in a compact entry's value", "- a: b: c\n", 1, 7, /': ' inside a plain value/],
    ["a trailing colon in a plain value", "a: b:\n", 1, 5, /': ' inside a plain value/],
    ["a sequence on the key's line", "a: - b\n", 1, 4, /cannot start with "-"/],
    ["a reserved indicator", "a: @b\n", 1, 4, /cannot start with "@"/],
    ["text after a quoted value", 'a: "b" c\n', 1, 8, /unexpected "c"/],
    ["a comment without a space after a quoted value", "a: 'b'#c\n", 1, 7, /unexpected "#c"/],
    ["an unclosed double quote", 'a: "b\nc: d\n', 1, 4, /never closed/],
    ["an unclosed single quote", "a: 'b\n", 1, 4, /never closed/],
    ["an unknown escape", 'a: "C:\\dir"\n', 1, 7, /unknown escape \\d/],
    ["a short \\u escape", 'a: "\\u12"\n', 1, 5, /invalid escape \\u12.*4 hex digits/],
    ["a \\U escape beyond Unicode", 'a: "\\U00110000"\n', 1, 5, /invalid escape/],
    ["a quoted string wrapped inside flow", 'a: ["b\n  c"]\n', 1, 5, /not closed on its line/],
    ["a flow collection never closed", "a: [b,\n  c\n", 1, 4, /a \[ that is never closed/],
    ["a missing comma in flow", "a: [b c, 'd' e]\n", 1, 14, /expected ',' or '\]'/],
    ["a plain key without ': ' in flow", "a: {b:1}\n", 1, 8, /a key without ':'/],
    ["a collection as a flow key", "a: {[b]: 1}\n", 1, 5, /collection as a key/],
    ["an empty flow entry", "a: [b, , c]\n", 1, 8, /cannot start with ","/],
    ["text after a flow collection", "a: [b] c\n", 1, 8, /unexpected "c"/],
    ["text after a block scalar header", "a: | b\n  c\n", 1, 6, /unexpected "b"/],
    ["spaces on an empty line above a block's first line", "a: |\n    \n  c\n", 3, 3, /more spaces than this first line/],
    ["a document marker inside a quoted string", 'a: "b\n---\n"\n', 2, 1, /document marker/],
    ["nesting too deep", `${"- ".repeat(150)}a\n`, 1, 201, /nesting too deep/],
    ["flow nesting too deep", `a: ${"[".repeat(150)}${"]".repeat(150)}\n`, 1, 103, /nesting too deep/],
    ["invalid JSON", '{"a": 1,,}', 1, 9, /invalid JSON.*read as JSON/],
    ["JSON cut short", '{\n  "a": [1,\n', 3, 1, /invalid JSON/],
    ["a bad escape in JSON", '{"a": "\\x"}', 1, 9, /invalid JSON/],
    ["text after JSON", "[1]\n x", 2, 2, /invalid JSON/],
  ];
  for (const [name, src, line, column, pattern] of cases) {
    it(name, () => {
      const error = errorOf(src);
      assert.deepEqual([error.line, error.column], [line, column], error.message);
      assert.match(error.message, pattern);
      assert.match(error.message, /^kubeconfig line \d+, column \d+: .+ \(.+\)$/s);
      assert.equal(error.name, "YamlError");
      assert.ok(error instanceof Error);
    });
  }
});

describe("round trip through a block-style emitter", () => {
  type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };
  interface Style {
    /** `- key: v` rather than `-` and the mapping below. */
    readonly compact: boolean;
    /** Sequences under a key not indented (kubectl), rather than indented by two. */
    readonly kubectl: boolean;
    /** Collections at this depth and deeper in flow style. */
    readonly flowFrom: number;
    /** Strings without line breaks single-quoted, rather than JSON.stringify'd. */
    readonly single: boolean;
    /** Double-quoted strings broken onto new lines at each single space, as go-yaml does at 80 columns. */
    readonly wrap: boolean;
    readonly comments: boolean;
    readonly crlf: boolean;
  }

  const isMap = (v: Json): v is { readonly [key: string]: Json } => typeof v === "object" && v !== null && !Array.isArray(v);
  const isBlock = (v: Json): boolean => (Array.isArray(v) ? v.length > 0 : isMap(v) && Object.keys(v).length > 0);
  const emitKey = (k: string): string => (/^[a-zA-Z][\w-]*$/.test(k) ? k : JSON.stringify(k));
  /** Integers beyond 2^53 as floats: as an integer literal, 61100580608798810 is not the double it prints. */
  const emitNumber = (n: number): string =>
    Number.isNaN(n) ? ".nan" : n === Infinity ? ".inf" : n === -Infinity ? "-.inf" : Object.is(n, -0) ? "-0.0" : Number.isInteger(n) && !Number.isSafeInteger(n) ? n.toExponential() : String(n);
  const emitString = (s: string, style: Style, pad: string | undefined): string =>
    style.single && !/[\r\n]/.test(s)
      ? `'${s.replaceAll("'", "''")}'`
      : style.wrap && pad !== undefined
        ? JSON.stringify(s).replace(/(?<=[^ ]) (?=[^ ])/g, `\n${pad}  `)
        : JSON.stringify(s);
  const emitFlow = (v: Json, style: Style): string =>
    Array.isArray(v)
      ? `[${v.map((x) => emitFlow(x, style)).join(", ")}]`
      : isMap(v)
        ? `{${Object.entries(v).map(([k, x]) => `${emitKey(k)}: ${emitFlow(x, style)}`).join(", ")}}`
        : emitScalar(v, style, undefined);
  const emitScalar = (v: Json, style: Style, pad: string | undefined): string =>
    v === null ? "null" : typeof v === "string" ? emitString(v, style, pad) : typeof v === "number" ? emitNumber(v) : typeof v === "boolean" ? String(v) : emitFlow(v, style);

  /** A block collection's lines at indentation `pad`, each ending in a newline. */
  const emitBlock = (v: Json, pad: string, depth: number, style: Style): string => {
    const eol = style.comments ? `  # note\n${pad}# a comment line\n\n` : "\n";
    /** What follows `-` or `key:`: a scalar or flow collection on the line, or a block below. */
    const after = (x: Json, inner: string, compact: boolean): string =>
      !isBlock(x) || depth + 1 >= style.flowFrom
        ? ` ${emitScalar(x, style, inner)}${eol}`
        : compact
          ? ` ${emitBlock(x, inner, depth + 1, style).slice(inner.length)}`
          : `${eol}${emitBlock(x, inner, depth + 1, style)}`;
    return Array.isArray(v)
      ? v.map((x: Json) => `${pad}-${after(x, `${pad}  `, style.compact)}`).join("")
      : Object.entries(v as { readonly [key: string]: Json })
          .map(([k, x]) => `${pad}${emitKey(k)}:${after(x, Array.isArray(x) && style.kubectl ? pad : `${pad}  `, false)}`)
          .join("");
  };

  const emit = (v: Json, style: Style): string => {
    const text = `${style.comments ? "# leading comment\n" : ""}${isBlock(v) ? emitBlock(v, "", 0, style) : `${emitScalar(v, style, "")}\n`}`;
    return style.crlf ? text.replaceAll("\n", "\r\n") : text;
  };

  const awkward = fc.constantFrom("", " ", "  lead", "trail  ", "#", " # ", "a: b", "- a", "? a", "null", "true", "~", "1", "-0", "0x1F", ".nan", "'", '"', "\\", "a\nb", "a\r\nb", "\t", "\u2028", "\ud800", "\uFEFF", "|", ">", "[a]", "{}", "&a", "*a", "!!str", "%", "@", "---", "...", "<<");
  const key = fc.oneof(fc.stringMatching(/^[a-z][a-zA-Z0-9-]{0,8}$/), fc.string({ maxLength: 6 }), awkward);
  const string = fc.oneof(fc.string(), fc.string({ unit: "binary" }), awkward, fc.stringMatching(/^[a-z]{1,5}( {1,2}[a-z]{1,5}){0,4}$/));
  const { value } = fc.letrec<{ value: Json }>((tie) => ({
    value: fc.oneof(
      { depthSize: "medium", withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double(),
      string,
      fc.array(tie("value"), { maxLength: 4 }),
      fc
        .uniqueArray(fc.tuple(key, tie("value")), { maxLength: 4, selector: ([k]) => k })
        .map((entries) => Object.fromEntries(entries) as Json),
    ),
  }));
  const style: fc.Arbitrary<Style> = fc.record({
    compact: fc.boolean(),
    kubectl: fc.boolean(),
    flowFrom: fc.integer({ min: 1, max: 8 }),
    single: fc.boolean(),
    wrap: fc.boolean(),
    comments: fc.boolean(),
    crlf: fc.boolean(),
  });

  it("parseYaml(emit(v)) deep-equals v", () => {
    fc.assert(
      fc.property(value, style, (v, s) => {
        const text = emit(v, s);
        assert.deepEqual(parseYaml(text), v, text);
      }),
      { numRuns: 2000 },
    );
  });

  it("JSON.stringify output parses as JSON.parse reads it", () => {
    fc.assert(
      fc.property(value, fc.constantFrom(undefined, 2), (v, space) => {
        const text = JSON.stringify(v, null, space);
        assert.deepEqual(parseYaml(text), JSON.parse(text), text);
      }),
    );
  });
});
