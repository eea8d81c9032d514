/**
 * Certificates and keys for the test cluster, made with the `openssl` CLI (always present where
 * Go and kube-apiserver run, and one tool less than a JS crypto library).
 *
 * @module
 */

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

export interface KeyPair {
  certFile: string;
  keyFile: string;
}

export interface IssuedCert extends KeyPair {
  certPem: string;
  keyPem: string;
}

// An explicit config keeps the result independent of the distribution's openssl.cnf.
const CONFIG = `[req]
distinguished_name = dn
x509_extensions = ca_ext
[dn]
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
`;

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileP("openssl", args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`);
  }
}

// One file per call: concurrent calls must never read a config another call is rewriting.
async function configFile(base: string): Promise<string> {
  await writeFile(`${base}.cnf`, CONFIG);
  return `${base}.cnf`;
}

/** A self-signed P-256 CA valid for 30 days, written to `<dir>/<name>.crt` and `.key`. */
export async function makeCa(dir: string, name: string, commonName: string): Promise<KeyPair> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await openssl([
    "req", "-config", await configFile(join(dir, name)), "-x509", "-new", "-nodes",
    "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-keyout", keyFile, "-out", certFile, "-days", "30", "-subj", `/CN=${escape(commonName)}`,
  ]);
  return { certFile, keyFile };
}

export interface LeafOptions {
  ca: KeyPair;
  /** Output path without extension; `.crt` and `.key` are added. */
  base: string;
  commonName: string;
  organizations?: string[];
  usage: "serverAuth" | "clientAuth";
  /** e.g. `IP:127.0.0.1,DNS:localhost` */
  subjectAltName?: string;
}

/** A P-256 leaf certificate signed by `ca`. */
export async function issueCert(options: LeafOptions): Promise<IssuedCert> {
  const { ca, base } = options;
  const certFile = `${base}.crt`;
  const keyFile = `${base}.key`;
  const subject = [`/CN=${escape(options.commonName)}`, ...(options.organizations ?? []).map((o) => `/O=${escape(o)}`)];
  const extensions = [
    "basicConstraints = critical,CA:FALSE",
    "keyUsage = critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage = ${options.usage}`,
    "authorityKeyIdentifier = keyid",
    ...(options.subjectAltName === undefined ? [] : [`subjectAltName = ${options.subjectAltName}`]),
  ];
  await writeFile(`${base}.ext`, extensions.join("\n") + "\n");
  await openssl([
    "req", "-config", await configFile(base), "-new", "-nodes",
    "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-keyout", keyFile, "-out", `${base}.csr`, "-subj", subject.join(""),
  ]);
  // A random serial instead of -CAcreateserial: no shared serial file to race on.
  await openssl([
    "x509", "-req", "-in", `${base}.csr`, "-CA", ca.certFile, "-CAkey", ca.keyFile,
    "-set_serial", `0x${randomBytes(12).toString("hex")}`, "-days", "30", "-sha256",
    "-extfile", `${base}.ext`, "-out", certFile,
  ]);
  const [certPem, keyPem] = await Promise.all([readFile(certFile, "utf8"), readFile(keyFile, "utf8")]);
  return { certFile, keyFile, certPem, keyPem };
}

/** An EC P-256 key in SEC1 PEM; kube-apiserver reads both halves of the key pair from it. */
export async function makeEcKey(file: string): Promise<string> {
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file]);
  return file;
}

// In `-subj`, a backslash makes the next character literal; these would otherwise split the name.
function escape(value: string): string {
  return value.replace(/[\\/+=,]/g, (c) => `\\${c}`);
}
