/**
 * The container and deployment files under `deploy/` and the root `Dockerfile`, linted: every YAML
 * parses (the `yaml` package) and each Kubernetes object has what the API server requires and what
 * earshot needs (probes on the real routes and port, `maxUnavailable: 0`, a preStop hook inside the
 * grace period, the HPA's metric a name a real server exposes on `/metrics`); the compose file wires
 * three nodes to Redis and HAProxy; every shipped HAProxy config passes `haproxy -c`; the Dockerfile
 * has its two stages, a non-root user, a health check on `/healthz`, and installs only Debian
 * packages that scripts/setup.sh lists. Docker itself does not run here: the image is not built.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { parseAllDocuments } from "yaml";
import { scrape } from "./helpers/prometheus.js";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url);
const path = (relative: string): string => new URL(relative, ROOT).pathname;
const read = (relative: string): string => readFileSync(path(relative), "utf8");

const SERVER_PORT = 8787;
/** The server's shutdown bound (docs/operations.md, "Shutdown"). */
const SHUTDOWN_SECONDS = 10;

type Json = Record<string, unknown>;

/** A nested field, or undefined: `field(doc, "spec", "template", "spec")`. */
function field(value: unknown, ...keys: readonly (string | number)[]): unknown {
  let at = value;
  for (const key of keys) {
    if (typeof at !== "object" || at === null) return undefined;
    at = (at as Record<string | number, unknown>)[key];
  }
  return at;
}

function object(value: unknown, what: string): Json {
  assert.ok(typeof value === "object" && value !== null && !Array.isArray(value), `${what}: expected a mapping`);
  return value as Json;
}

function list(value: unknown, what: string): unknown[] {
  assert.ok(Array.isArray(value), `${what}: expected a list`);
  return value;
}

/** Every document of a YAML file as plain data; a syntax error or warning fails the test. */
function yamlDocuments(relative: string, options: { merge?: boolean } = {}): Json[] {
  return parseAllDocuments(read(relative), options).map((doc, index) => {
    assert.deepEqual(
      doc.errors.map((e) => e.message),
      [],
      `${relative} document ${index}`,
    );
    assert.deepEqual(
      doc.warnings.map((e) => e.message),
      [],
      `${relative} document ${index}`,
    );
    return object(doc.toJS(), `${relative} document ${index}`);
  });
}

// --- Kubernetes ---

const K8S_DIR = "deploy/k8s/";
/** The API versions this repository's objects use, as served by Kubernetes ≥ 1.23. */
const API_VERSIONS: Record<string, string> = {
  Deployment: "apps/v1",
  Service: "v1",
  HorizontalPodAutoscaler: "autoscaling/v2",
  Kustomization: "kustomize.config.k8s.io/v1beta1",
};
/** RFC 1123 DNS label: what Kubernetes requires of Service and Deployment names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

interface K8sObject {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly doc: Json;
}

function k8sObjects(): K8sObject[] {
  const files = readdirSync(path(K8S_DIR)).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
  return files.flatMap((file) =>
    yamlDocuments(K8S_DIR + file).map((doc) => {
      const kind = doc.kind;
      assert.equal(typeof kind, "string", `${file}: kind`);
      const expected = API_VERSIONS[kind as string];
      assert.ok(expected, `${file}: unexpected kind ${String(kind)}`);
      assert.equal(doc.apiVersion, expected, `${file}: apiVersion of ${String(kind)}`);
      const name = field(doc, "metadata", "name");
      assert.ok(typeof name === "string" && DNS_LABEL.test(name), `${file}: metadata.name ${String(name)}`);
      return { file, kind: kind as string, name, doc };
    }),
  );
}

function only(objects: readonly K8sObject[], kind: string, name: string): Json {
  const found = objects.filter((o) => o.kind === kind && o.name === name);
  assert.equal(found.length, 1, `one ${kind} ${name}`);
  return (found[0] as K8sObject).doc;
}

/** A probe's or Service's port (a number or a container port's name) as a number. */
function resolvePort(container: Json, port: unknown): number {
  if (typeof port === "number") return port;
  const named = list(container.ports, "ports").find((p) => field(p, "name") === port);
  assert.ok(named, `no container port named ${String(port)}`);
  return field(named, "containerPort") as number;
}

/** A pod template's labels must include the selector's (the API server refuses the object otherwise). */
function assertSelects(selector: unknown, labels: unknown, what: string): void {
  const wanted = object(selector, `${what}: selector`);
  assert.ok(Object.keys(wanted).length > 0, `${what}: empty selector`);
  for (const [key, value] of Object.entries(wanted)) {
    assert.equal(field(labels, key), value, `${what}: label ${key}`);
  }
}

function earshotContainer(deployment: Json): Json {
  const containers = list(field(deployment, "spec", "template", "spec", "containers"), "containers");
  const container = containers.find((c) => field(c, "name") === "earshot");
  return object(container, "the earshot container");
}

function envValue(container: Json, name: string): Json {
  const entry = list(container.env, "env").find((e) => field(e, "name") === name);
  return object(entry, `env ${name}`);
}

describe("the Kubernetes manifests (deploy/k8s)", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: ["deploy-manifests-key"] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("parse, and every object has its kind's apiVersion and a valid name; kustomization lists every file", () => {
    const objects = k8sObjects();
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.name}`).sort(), [
      "Deployment/earshot",
      "Deployment/earshot-redis",
      "HorizontalPodAutoscaler/earshot",
      "Service/earshot",
      "Service/earshot-redis",
    ]);
    const [kustomization] = yamlDocuments(`${K8S_DIR}kustomization.yaml`);
    assert.equal(kustomization?.kind, "Kustomization");
    assert.equal(kustomization?.apiVersion, API_VERSIONS.Kustomization);
    const resources = list(kustomization?.resources, "resources");
    assert.deepEqual([...resources].sort(), [...new Set(objects.map((o) => o.file))].sort());
  });

  it("the Deployment: probes on /readyz and /healthz at the server's port, rolling with maxUnavailable 0, preStop within the grace period", () => {
    const objects = k8sObjects();
    const deployment = only(objects, "Deployment", "earshot");
    assertSelects(
      field(deployment, "spec", "selector", "matchLabels"),
      field(deployment, "spec", "template", "metadata", "labels"),
      "Deployment earshot",
    );
    assert.equal(field(deployment, "spec", "strategy", "type"), "RollingUpdate");
    assert.equal(field(deployment, "spec", "strategy", "rollingUpdate", "maxUnavailable"), 0);
    assert.ok((field(deployment, "spec", "strategy", "rollingUpdate", "maxSurge") as number) >= 1, "maxSurge ≥ 1");

    const container = earshotContainer(deployment);
    assert.equal(typeof container.image, "string");
    for (const [probe, route] of [
      ["readinessProbe", "/readyz"],
      ["livenessProbe", "/healthz"],
    ] as const) {
      assert.equal(field(container, probe, "httpGet", "path"), route, probe);
      assert.equal(resolvePort(container, field(container, probe, "httpGet", "port")), SERVER_PORT, probe);
    }
    const args = list(container.args, "args");
    assert.deepEqual(args.slice(0, 5), ["serve", "--host", "0.0.0.0", "--port", String(SERVER_PORT)]);

    // preStop drains the node, with the admin key from a Secret.
    const preStop = list(field(container, "lifecycle", "preStop", "exec", "command"), "preStop command");
    assert.deepEqual(preStop.slice(0, 2), ["earshot", "drain"]);
    assert.ok(field(envValue(container, "EARSHOT_ADMIN_KEY"), "valueFrom", "secretKeyRef"), "admin key from a Secret");
    const drainAt = args.indexOf("--drain-timeout-ms");
    const drainSeconds = drainAt < 0 ? 30 : Number(args[drainAt + 1]) / 1000;
    assert.ok(drainSeconds > 0);
    const grace = field(deployment, "spec", "template", "spec", "terminationGracePeriodSeconds") as number;
    assert.ok(grace > drainSeconds + SHUTDOWN_SECONDS, `grace ${grace} s ≤ drain ${drainSeconds} s + shutdown`);

    assert.equal(field(deployment, "spec", "template", "spec", "securityContext", "runAsNonRoot"), true);
    assert.notEqual(field(deployment, "spec", "template", "spec", "securityContext", "runAsUser"), 0);
    assert.deepEqual(field(envValue(container, "EARSHOT_API_KEYS"), "valueFrom", "secretKeyRef"), {
      name: "earshot-api-keys",
      key: "keys",
    });
  });

  it("the Services select their Deployments' pods and reach named container ports; EARSHOT_REDIS_URL names the Redis Service", () => {
    const objects = k8sObjects();
    for (const name of ["earshot", "earshot-redis"]) {
      const service = only(objects, "Service", name);
      const deployment = only(objects, "Deployment", name);
      assertSelects(
        field(service, "spec", "selector"),
        field(deployment, "spec", "template", "metadata", "labels"),
        `Service ${name}`,
      );
      const container = object(field(deployment, "spec", "template", "spec", "containers", 0), name);
      for (const port of list(field(service, "spec", "ports"), "ports")) {
        resolvePort(container, field(port, "targetPort"));
      }
    }
    const redisUrl = new URL(
      envValue(earshotContainer(only(objects, "Deployment", "earshot")), "EARSHOT_REDIS_URL").value as string,
    );
    assert.equal(redisUrl.protocol, "redis:");
    assert.equal(redisUrl.hostname, "earshot-redis");
    assert.equal(Number(redisUrl.port), field(only(objects, "Service", "earshot-redis"), "spec", "ports", 0, "port"));
  });

  it("the HPA scales the Deployment on a per-pod metric that a real server exposes on /metrics", async () => {
    const objects = k8sObjects();
    const hpa = only(objects, "HorizontalPodAutoscaler", "earshot");
    assert.deepEqual(field(hpa, "spec", "scaleTargetRef"), {
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "earshot",
    });
    const minReplicas = field(hpa, "spec", "minReplicas") as number;
    assert.ok(minReplicas >= 1 && minReplicas <= (field(hpa, "spec", "maxReplicas") as number));
    const [metric, ...others] = list(field(hpa, "spec", "metrics"), "metrics");
    assert.equal(others.length, 0);
    assert.equal(field(metric, "type"), "Pods");
    assert.equal(field(metric, "pods", "target", "type"), "AverageValue");
    assert.ok(Number(field(metric, "pods", "target", "averageValue")) > 0);
    const name = field(metric, "pods", "metric", "name");
    assert.equal(name, "earshot_active_streams");
    const samples = await scrape(url);
    assert.ok(samples.has(name as string), `a real server's /metrics has no ${String(name)}`);
  });
});

// --- compose and HAProxy ---

/** The lines of an HAProxy config that carry a setting (no comments, no blank lines), trimmed. */
const haproxySettings = (text: string): string[] =>
  text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));

describe("deploy/compose.yaml", () => {
  const [compose] = yamlDocuments("deploy/compose.yaml", { merge: true });
  const services = object(compose?.services, "services");
  const nodes = ["earshot1", "earshot2", "earshot3"];

  it("runs HAProxy, Redis and three earshot nodes built from the Dockerfile, each with its node id, the keys and the Redis URL", () => {
    assert.deepEqual(Object.keys(services).sort(), ["earshot1", "earshot2", "earshot3", "haproxy", "redis"]);
    const redisPort = 6379;
    const nodeIds = nodes.map((name) => {
      const node = object(services[name], name);
      assert.equal(field(node, "build", "dockerfile"), "Dockerfile");
      assert.ok(
        existsSync(new URL(`${field(node, "build", "context") as string}/Dockerfile`, new URL("deploy/", ROOT))),
      );
      const command = list(node.command, `${name} command`);
      assert.deepEqual(command.slice(0, 5), ["serve", "--host", "0.0.0.0", "--port", String(SERVER_PORT)]);
      const env = object(node.environment, `${name} environment`);
      assert.match(
        String(env.EARSHOT_API_KEYS),
        /^\$\{EARSHOT_API_KEYS:\?/,
        "keys from the host's environment, required",
      );
      const redisUrl = new URL(String(env.EARSHOT_REDIS_URL));
      assert.equal(redisUrl.hostname, "redis");
      assert.equal(Number(redisUrl.port), redisPort);
      assert.ok(list(node.depends_on, `${name} depends_on`).includes("redis"));
      // SIGTERM drains (30 s by default) before the shutdown (10 s): docker must not kill it sooner.
      assert.ok(Number.parseInt(String(node.stop_grace_period), 10) > 30 + SHUTDOWN_SECONDS, "stop_grace_period");
      assert.equal(node.restart, "unless-stopped", "a drained node is started again");
      return command[command.indexOf("--node-id") + 1];
    });
    assert.equal(new Set(nodeIds).size, nodes.length, "distinct node ids");
  });

  it("mounts deploy/compose/haproxy.cfg, whose servers are the three nodes and whose frontend is the published port", () => {
    const haproxy = object(services.haproxy, "haproxy");
    const [mount] = list(haproxy.volumes, "haproxy volumes");
    const [source, target] = String(mount).split(":");
    assert.equal(source, "./compose/haproxy.cfg");
    assert.equal(target, "/usr/local/etc/haproxy/haproxy.cfg");
    const settings = haproxySettings(read("deploy/compose/haproxy.cfg"));
    const servers = settings.filter((line) => line.startsWith("server "));
    assert.deepEqual(
      servers.map((line) => line.split(/\s+/)[2]),
      nodes.map((name) => `${name}:${SERVER_PORT}`),
    );
    const bind = settings.find((line) => line.startsWith("bind "));
    const frontendPort = bind?.split(":").pop();
    assert.deepEqual(list(haproxy.ports, "haproxy ports"), [`${frontendPort}:${frontendPort}`]);
  });

  it("its HAProxy config keeps every setting of deploy/haproxy.cfg but the process-level lines and the servers", () => {
    const compose = new Set(haproxySettings(read("deploy/compose/haproxy.cfg")));
    const differsOnPurpose = /^(chroot|user|group|stats socket|server|default-server)\s/;
    const missing = haproxySettings(read("deploy/haproxy.cfg")).filter(
      (line) => !differsOnPurpose.test(line) && !compose.has(line),
    );
    assert.deepEqual(missing, []);
  });
});

describe("the shipped HAProxy configs", () => {
  const configs = ["deploy/haproxy.cfg", "deploy/compose/haproxy.cfg"];

  it("are every .cfg under deploy/", () => {
    const found = [
      ...readdirSync(path("deploy")).map((f) => `deploy/${f}`),
      ...readdirSync(path("deploy/compose")).map((f) => `deploy/compose/${f}`),
    ].filter((f) => f.endsWith(".cfg"));
    assert.deepEqual(found.sort(), [...configs].sort());
  });

  for (const config of configs) {
    it(`${config} passes haproxy -c`, async () => {
      const { stdout } = await run("haproxy", ["-c", "-f", path(config)]);
      assert.match(stdout, /Configuration file is valid/);
    });
  }
});

// --- Dockerfile ---

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function dockerInstructions(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = "";
  }
  return logical.map((line) => {
    const at = line.search(/\s/);
    return { keyword: line.slice(0, at).toUpperCase(), args: line.slice(at + 1).trim() };
  });
}

/** scripts/setup.sh's APT_PACKAGES, comments dropped. */
function setupAptPackages(): Set<string> {
  const match = /APT_PACKAGES=\(([\s\S]*?)\n\)/.exec(read("scripts/setup.sh"));
  assert.ok(match?.[1], "APT_PACKAGES in scripts/setup.sh");
  return new Set(
    match[1]
      .split("\n")
      .flatMap((line) => (line.split("#")[0] ?? "").trim().split(/\s+/))
      .filter((word) => word !== ""),
  );
}

describe("the Dockerfile", () => {
  const instructions = dockerInstructions(read("Dockerfile"));
  const stages = instructions.filter((i) => i.keyword === "FROM").map((i) => i.args);
  const runtimeAt = instructions.findIndex((i) => i.keyword === "FROM" && i.args.endsWith(" AS runtime"));
  const build = instructions.slice(0, runtimeAt);
  const runtime = instructions.slice(runtimeAt);
  const runs = (stage: readonly Instruction[]): string =>
    stage
      .filter((i) => i.keyword === "RUN")
      .map((i) => i.args)
      .join("\n");

  it("builds on Node 20 / Debian bookworm, with npm ci (no onnxruntime download), the build and a prune", () => {
    assert.deepEqual(stages, ["node:20-bookworm AS build", "node:20-bookworm-slim AS runtime"]);
    const buildRuns = runs(build);
    assert.match(buildRuns, /ONNXRUNTIME_NODE_INSTALL=skip npm ci\b/);
    assert.match(buildRuns, /\bnpm run build\b/);
    assert.match(buildRuns, /\bnpm prune --omit=dev\b/);
    assert.ok(runtime.some((i) => i.keyword === "COPY" && i.args.startsWith("--from=build /app/node_modules ")));
  });

  it("runs as a non-root user, exposes the server's port, checks /healthz and serves on all addresses", () => {
    const users = runtime.filter((i) => i.keyword === "USER").map((i) => i.args);
    const user = users.at(-1);
    assert.ok(user, "a USER in the runtime stage");
    assert.ok(!/^(root|0)(:|$)/.test(user), `USER ${user}`);
    assert.match(user, /^\d+(:\d+)?$/, "numeric, so runAsNonRoot can verify it");
    assert.deepEqual(
      runtime.filter((i) => i.keyword === "EXPOSE").map((i) => i.args),
      [String(SERVER_PORT)],
    );
    const healthcheck = runtime.find((i) => i.keyword === "HEALTHCHECK");
    assert.ok(healthcheck, "a HEALTHCHECK");
    assert.ok(healthcheck.args.includes(`http://127.0.0.1:${SERVER_PORT}/healthz`), "HEALTHCHECK on /healthz");
    assert.ok(!/\bcurl\b|\bwget\b/.test(healthcheck.args), "no tool the image lacks");
    const execForm = (keyword: string): unknown[] =>
      list(JSON.parse(runtime.find((i) => i.keyword === keyword)?.args ?? "null") as unknown, keyword);
    assert.deepEqual(
      [...execForm("ENTRYPOINT"), ...execForm("CMD")],
      ["earshot", "serve", "--host", "0.0.0.0", "--port", String(SERVER_PORT)],
    );
  });

  it("installs only Debian packages that scripts/setup.sh lists, and the engine's", () => {
    const allowed = setupAptPackages();
    const installed = [...runs(instructions).matchAll(/apt-get install ([^&;\n]+)/g)].flatMap((m) =>
      (m[1] ?? "").split(/\s+/).filter((word) => word !== "" && !word.startsWith("-")),
    );
    assert.ok(installed.includes("pocketsphinx") && installed.includes("pocketsphinx-en-us"), installed.join(" "));
    assert.deepEqual(
      installed.filter((pkg) => !allowed.has(pkg)),
      [],
    );
  });

  it("has a .dockerignore that keeps the host's node_modules and build output out", () => {
    const ignored = read(".dockerignore").split("\n");
    for (const pattern of ["**/node_modules", "**/dist", ".git"]) assert.ok(ignored.includes(pattern), pattern);
  });
});
