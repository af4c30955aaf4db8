import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { DECODING_METHODS, type DecodingMethod } from "@earshot/engine-sherpa";
import {
  createLogger,
  createServer,
  DEFAULT_BAND_EXTENSION_DB,
  DEFAULT_CONFIG_TIMEOUT_MS,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_LIMITS,
  DEFAULT_MAX_STREAMS_PER_KEY,
  DEFAULT_MAX_UNCONFIGURED_PER_KEY,
  DEFAULT_MAX_WAITING_DECODERS_PER_KEY,
  STREAM_PATH,
} from "@earshot/server";
import { DEFAULT_ENDPOINTING_MS } from "@earshot/vad";
import { CliError } from "../cli-error.js";
import { clusterOptions } from "../cluster-options.js";
import { demoRoutes } from "../demo-assets.js";
import { createEngine, sherpaModelDirs } from "../engines.js";
import { uploadDecoder } from "../upload-decoder.js";

/**
 * The utilization at which `earshot serve` refuses new streams. The demand it reads undercounts
 * the machine a little (decoding time only, the generator and the OS aside): in the load bench,
 * 8 PocketSphinx streams held their latency and 12 did not, and 0.7 admits 10 of a burst.
 */
export const SERVE_MAX_UTILIZATION = 0.7;

const HELP = `usage: earshot serve [--host 127.0.0.1] [--port 8787] [--engine NAME[,NAME...]] [--api-key KEY]...

  --host                 address to bind (default 127.0.0.1)
  --port                 port (default 8787; 0 picks a free one)
  --engine               speech engine: pocketsphinx (default), sherpa-onnx (neural models from
                         \`earshot models pull\`) or test (deterministic, for development); several,
                         comma-separated, are served side by side and each stream goes to the
                         engine of its model (or, for the default model, of its language)
  --model                sherpa-onnx: an installed model to serve (repeatable; \`earshot models
                         list\`). Default: every model installed in EARSHOT_MODELS_DIR
  --model-dir            sherpa-onnx: a model directory placed by hand (repeatable)
  --decoding-method      sherpa-onnx: greedy_search (default) or modified_beam_search (keyterms)
  --api-key              accepted key; repeatable. Also EARSHOT_API_KEYS=k1,k2. With none on a
                         loopback address, a key is generated and printed.
  --decoders             pocketsphinx: warm decoders, made before /readyz answers 200 and lent
                         to utterances (a silent stream holds none); more are made in the
                         background up to --max-decoders (default 8 per core: 91 MB for a
                         process's first, 37 MB for each further one)
  --max-decoders         pocketsphinx: decoders at most; utterances beyond wait for one, their
                         audio queued (default 10 per core, what a core decodes in real time)
  --max-streams          streams held at once (and sessions waiting for a resume that keep their
                         engine stream); more get HTTP 503 over_capacity. Default: what fits in
                         memory, 75% of (RAM or the cgroup limit − 1 GiB) / the engine's cost
                         per stream (pocketsphinx: 4 MB beside its decoders); none for engines
                         that declare no cost. The engine's load (its active utterances) still
                         refuses streams it cannot serve in real time
  --max-streams-per-key  open streams one API key may have; more get HTTP 429 too_many_streams
                         (default ${DEFAULT_MAX_STREAMS_PER_KEY})
  --max-unconfigured-per-key
                         connections of one key that have not sent config yet; more get HTTP 429
                         too_many_streams (default ${DEFAULT_MAX_UNCONFIGURED_PER_KEY})
  --config-timeout-ms    a connection that sends no valid config (or resume) this soon is closed
                         with config_timeout (default ${DEFAULT_CONFIG_TIMEOUT_MS})
  --hold-decoder-ms      how long a dropped session keeps its decoder while it waits for a resume;
                         after that a resume continues in a fresh decoder from the last final
                         (default ${DEFAULT_LIMITS.holdDecoderMs})
  --max-waiting-decoders-per-key
                         dropped sessions of one key that keep their decoders; the oldest beyond
                         give theirs back (default ${DEFAULT_MAX_WAITING_DECODERS_PER_KEY})
  --max-utilization      refuse new streams while the server is at least this busy (decoders
                         plus main thread, of all cores), 0..1 (default ${SERVE_MAX_UTILIZATION})
  --max-backlog-ms       refuse new streams while some stream's engine backlog is at least this
                         (default: off; set it when every client streams live)
  --vad                  on|off: Silero VAD gate in front of the engine, deciding what is decoded
                         and where utterances end (default: on for pocketsphinx, off for test)
  --endpointing-ms       silence that ends an utterance when a stream does not set endpointing_ms
                         (default ${DEFAULT_ENDPOINTING_MS}; with the VAD gate)
  --band-extension-db    8 kHz streams (mulaw, alaw): gain in dB (-60..0) at 4 kHz of the 0-4 kHz
                         band mirrored into the empty 4-8 kHz band after upsampling, or off; a
                         stream's band_extension_db overrides it. A negative value needs the =
                         form: --band-extension-db=-5 (default ${DEFAULT_BAND_EXTENSION_DB} when pocketsphinx is
                         served, where it was measured; off otherwise)
  --telephone-mllr       pocketsphinx: the MLLR transform file 8 kHz streams (mulaw, alaw, Twilio)
                         decode with, or off for the plain model (default: the transform shipped
                         for the Debian en-us model; docs/telephony.md)
  --max-utterance-ms     continuous speech after which a final is forced (speech_final: false)
                         and the next words start a new segment (default ${DEFAULT_LIMITS.maxUtteranceMs})
  --max-outbound-bytes   messages a client may leave unread before it is closed with
                         slow_consumer, to resume (default ${DEFAULT_LIMITS.maxOutboundBytes})
  --max-upload-bytes     the largest file POST /v1/audio/transcriptions (OpenAI's) takes; larger is
                         413 (default 26214400, 25 MiB as OpenAI)
  --metrics-token        require Authorization: Bearer TOKEN on GET /metrics (default: no auth).
                         Also EARSHOT_METRICS_TOKEN.
  --twilio-auth-token    the Twilio account's auth token: every Twilio media stream upgrade must
                         carry a valid X-Twilio-Signature (default: streams authenticate with a
                         stream token parameter instead; docs/telephony.md). Also TWILIO_AUTH_TOKEN.
  --webhook-url          POST every call's finals, start and end to this URL, signed with
                         --webhook-secret (HMAC-SHA256; also EARSHOT_WEBHOOK_SECRET)
  --no-demo              do not serve the demo page at / (microphone → live transcript; it mints a
                         stream token with the API key typed into it)
  --redis                join a cluster: redis://host:port (also EARSHOT_REDIS_URL). Stream tokens
                         and per-key stream counts are shared by every node on that Redis; see
                         docs/operations.md "Running several nodes". Without it the node runs alone
  --node-id              this node's id in logs, /metrics and Redis (default hostname-port-random)
  --node-lease-ms        a node that stops heartbeating stops counting after this (default 15000)
  --drain-timeout-ms     SIGTERM or the admin drain: /readyz turns 503, new streams are refused, and
                         each stream is moved to another node (close 1012 draining) at its next
                         utterance end, or at this bound mid-utterance; then the process exits
                         (default ${DEFAULT_DRAIN_TIMEOUT_MS}). SIGINT stops at once, as before
  --admin-key            the key of the admin calls (POST /v1/admin/drain; docs/security.md). Also
                         EARSHOT_ADMIN_KEY. Without one there are no admin calls
  --log-level            pino level for the JSON logs on stderr (default info)`;

const SHUTDOWN_TIMEOUT_MS = 10_000;

export async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8787" },
      engine: { type: "string", default: "pocketsphinx" },
      model: { type: "string", multiple: true },
      "model-dir": { type: "string", multiple: true },
      "decoding-method": { type: "string" },
      "api-key": { type: "string", multiple: true },
      "max-streams": { type: "string" },
      decoders: { type: "string" },
      "max-decoders": { type: "string" },
      "max-streams-per-key": { type: "string" },
      "max-unconfigured-per-key": { type: "string" },
      "config-timeout-ms": { type: "string" },
      "hold-decoder-ms": { type: "string" },
      "max-waiting-decoders-per-key": { type: "string" },
      "metrics-token": { type: "string" },
      "twilio-auth-token": { type: "string" },
      "webhook-url": { type: "string" },
      "webhook-secret": { type: "string" },
      "max-utilization": { type: "string" },
      "max-backlog-ms": { type: "string" },
      vad: { type: "string" },
      "endpointing-ms": { type: "string" },
      "band-extension-db": { type: "string" },
      "telephone-mllr": { type: "string" },
      "max-utterance-ms": { type: "string" },
      "max-outbound-bytes": { type: "string" },
      "max-upload-bytes": { type: "string" },
      redis: { type: "string" },
      "node-id": { type: "string" },
      "node-lease-ms": { type: "string" },
      "drain-timeout-ms": { type: "string" },
      "admin-key": { type: "string" },
      "log-level": { type: "string", default: process.env.EARSHOT_LOG_LEVEL ?? "info" },
      "no-demo": { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`invalid --port "${values.port}"`);
  const maxStreams = positiveInteger("--max-streams", values["max-streams"]);
  const decoders = positiveInteger("--decoders", values.decoders);
  const maxDecoders = positiveInteger("--max-decoders", values["max-decoders"]);
  const maxStreamsPerKey = positiveInteger("--max-streams-per-key", values["max-streams-per-key"]);
  const maxUnconfiguredPerKey = positiveInteger("--max-unconfigured-per-key", values["max-unconfigured-per-key"]);
  const configTimeoutMs = positiveInteger("--config-timeout-ms", values["config-timeout-ms"]);
  const holdDecoderMs = nonNegativeInteger("--hold-decoder-ms", values["hold-decoder-ms"]);
  const maxWaitingDecodersPerKey = nonNegativeInteger(
    "--max-waiting-decoders-per-key",
    values["max-waiting-decoders-per-key"],
  );
  const metricsToken = values["metrics-token"] ?? process.env.EARSHOT_METRICS_TOKEN;
  const adminKey = values["admin-key"] ?? process.env.EARSHOT_ADMIN_KEY;
  const drainTimeoutMs = nonNegativeInteger("--drain-timeout-ms", values["drain-timeout-ms"]);
  const twilioAuthToken = values["twilio-auth-token"] ?? process.env.TWILIO_AUTH_TOKEN;
  const webhookUrl = values["webhook-url"];
  const webhookSecret = values["webhook-secret"] ?? process.env.EARSHOT_WEBHOOK_SECRET;
  if (webhookUrl !== undefined && !webhookSecret) throw new CliError("--webhook-url needs --webhook-secret");
  if (webhookUrl !== undefined && !/^https?:\/\//.test(webhookUrl)) {
    throw new CliError(`invalid --webhook-url "${webhookUrl}": an http(s) URL`);
  }
  const webhook = webhookUrl && webhookSecret ? { webhook: { url: webhookUrl, secret: webhookSecret } } : {};
  const maxBacklogMs = positiveInteger("--max-backlog-ms", values["max-backlog-ms"]);
  const endpointingMs = positiveInteger("--endpointing-ms", values["endpointing-ms"]);
  const maxUtteranceMs = positiveInteger("--max-utterance-ms", values["max-utterance-ms"]);
  const maxOutboundBytes = positiveInteger("--max-outbound-bytes", values["max-outbound-bytes"]);
  const maxUploadBytes = positiveInteger("--max-upload-bytes", values["max-upload-bytes"]);
  const maxUtilization = values["max-utilization"] === undefined ? undefined : Number(values["max-utilization"]);
  if (maxUtilization !== undefined && !(maxUtilization > 0 && maxUtilization <= 1)) {
    throw new CliError(`invalid --max-utilization "${values["max-utilization"]}": a number in (0, 1]`);
  }
  const bandExtensionDb = bandExtension(values["band-extension-db"], values.engine);
  const telephoneMllr = telephoneTransform(values["telephone-mllr"]);
  if (values.vad !== undefined && values.vad !== "on" && values.vad !== "off") {
    throw new CliError(`invalid --vad "${values.vad}": on or off`);
  }
  // This process is the server's alone, so its main thread's load counts too.
  const admission = {
    countMainThread: true,
    maxUtilization: maxUtilization ?? SERVE_MAX_UTILIZATION,
    ...(maxStreams === undefined ? {} : { maxStreams }),
    ...(maxBacklogMs === undefined ? {} : { maxBacklogMs }),
  };
  const keys = [
    ...(values["api-key"] ?? []),
    ...(process.env.EARSHOT_API_KEYS ?? "")
      .split(",")
      .map((k) => k.trim())
      .filter(Boolean),
  ];
  let generatedKey: string | undefined;
  if (keys.length === 0) {
    if (!isLoopback(values.host)) {
      throw new CliError("no API key: set EARSHOT_API_KEYS or --api-key (a key is generated only on loopback)");
    }
    generatedKey = `esk_${randomBytes(18).toString("base64url")}`;
    keys.push(generatedKey);
  }
  // A closed stdout (a pipe whose reader went away) must not crash the server on its next line.
  process.stdout.on("error", () => {});
  // Signals are taken from the start, so one that arrives while the engine loads still stops cleanly.
  const stopSignal = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  // Before the engine starts: a missing demo page stops here with its hint (--no-demo).
  const staticRoutes = values["no-demo"] ? undefined : demoRoutes();
  const cluster = clusterOptions({
    redis: values.redis,
    nodeId: values["node-id"],
    leaseMs: positiveInteger("--node-lease-ms", values["node-lease-ms"]),
    port: Number(values.port),
  });
  // In a cluster every log line names its node.
  const rootLogger = createLogger(values["log-level"]);
  const logger = cluster ? rootLogger.child({ node: cluster.nodeId }) : rootLogger;
  const sherpa = values.engine.split(",").some((name) => name.trim() === "sherpa-onnx");
  if (!sherpa && (values.model || values["model-dir"] || values["decoding-method"])) {
    throw new CliError("--model, --model-dir and --decoding-method need --engine sherpa-onnx");
  }
  const decodingMethod = values["decoding-method"];
  if (decodingMethod !== undefined && !(DECODING_METHODS as readonly string[]).includes(decodingMethod)) {
    throw new CliError(`invalid --decoding-method "${decodingMethod}": ${DECODING_METHODS.join(" or ")}`);
  }
  const modelDirs = sherpa ? await sherpaModelDirs(values.model ?? [], values["model-dir"] ?? []) : [];
  const engine = createEngine(values.engine, {
    ...(values.vad === undefined ? {} : { vad: values.vad === "on" }),
    ...(endpointingMs === undefined ? {} : { endpointingMs }),
    ...(sherpa ? { modelDirs } : {}),
    ...(decodingMethod === undefined ? {} : { decodingMethod: decodingMethod as DecodingMethod }),
    ...(decoders === undefined ? {} : { decoders }),
    ...(maxDecoders === undefined ? {} : { maxDecoders }),
    ...(telephoneMllr === undefined ? {} : { telephoneMllr }),
  });
  const fileDecoder = uploadDecoder();
  const server = createServer({
    engine,
    apiKeys: keys,
    logger,
    ...(maxStreamsPerKey === undefined ? {} : { maxStreamsPerKey }),
    ...(maxUnconfiguredPerKey === undefined ? {} : { maxUnconfiguredPerKey }),
    ...(configTimeoutMs === undefined ? {} : { configTimeoutMs }),
    ...(holdDecoderMs === undefined ? {} : { holdDecoderMs }),
    ...(maxWaitingDecodersPerKey === undefined ? {} : { maxWaitingDecodersPerKey }),
    ...(maxUtteranceMs === undefined ? {} : { maxUtteranceMs }),
    ...(maxOutboundBytes === undefined ? {} : { maxOutboundBytes }),
    ...(maxUploadBytes === undefined ? {} : { maxUploadBytes }),
    bandExtensionDb,
    admission,
    ...(metricsToken ? { metrics: { bearerToken: metricsToken } } : {}),
    ...(staticRoutes ? { staticRoutes } : {}),
    twilio: { ...(twilioAuthToken ? { authToken: twilioAuthToken } : {}), ...webhook },
    ...(fileDecoder ? { fileDecoder } : {}),
    ...(cluster ? { cluster } : {}),
    ...(adminKey ? { adminKey } : {}),
    ...(drainTimeoutMs === undefined ? {} : { drainTimeoutMs }),
  });
  logger.info({ maxStreams: Number.isFinite(server.maxStreams) ? server.maxStreams : "none" }, "stream limit");
  const { url } = await server.listen({ host: values.host, port });
  try {
    await server.ready;
  } catch (error) {
    await server.close();
    throw new CliError(`engine ${engine.name} failed to load: ${(error as Error).message}`, { exitCode: 1 });
  }
  // A model that failed its checks is not served; the others are (its streams get model_invalid).
  for (const [model, error] of engine.capabilities.unavailableModels ?? []) {
    process.stderr.write(`earshot: model ${model} is not served: ${error.message}\n`);
  }
  if (generatedKey) process.stdout.write(`earshot: generated API key (this run only): ${generatedKey}\n`);
  process.stdout.write(
    `earshot ready on ${url} (engine ${engine.name}; stream ${url.replace(/^http/, "ws")}${STREAM_PATH})\n`,
  );
  if (!values["no-demo"]) process.stdout.write(`earshot demo page: ${url}/\n`);

  // SIGTERM (a deploy, `docker stop`, Kubernetes) drains first: the streams move to other nodes at
  // their next utterance end. An admin drain ends the same way. SIGINT (Ctrl-C) stops at once,
  // during a drain too.
  const interrupted = new Promise<string>((resolve) => process.once("SIGINT", () => resolve("SIGINT")));
  const stop = await Promise.race([stopSignal, server.drained.then(() => "admin drain")]);
  if (stop === "SIGTERM") await Promise.race([server.drain(), interrupted]);
  logger.info({ stop }, "shutting down");
  const timer = setTimeout(() => {
    process.stderr.write("earshot: shutdown timed out; exiting\n");
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  await server.close();
  process.stdout.write("earshot stopped\n");
  return 0;
}

/** `--telephone-mllr`: a readable transform file, or off; undefined: the engine's default. */
function telephoneTransform(value: string | undefined): string | false | undefined {
  if (value === undefined) return undefined;
  if (value === "off") return false;
  if (!existsSync(value)) throw new CliError(`invalid --telephone-mllr "${value}": no such file (or off)`);
  return value;
}

/** `--band-extension-db`: dB or off; by default on only where it was measured (PocketSphinx). */
function bandExtension(value: string | undefined, engines: string): number | "off" {
  if (value === undefined) {
    const pocketsphinx = engines.split(",").some((name) => name.trim() === "pocketsphinx");
    return pocketsphinx ? DEFAULT_BAND_EXTENSION_DB : "off";
  }
  if (value === "off") return "off";
  const db = Number(value);
  if (value.trim() === "" || !(db >= -60 && db <= 0)) {
    throw new CliError(`invalid --band-extension-db "${value}": a gain in dB from -60 to 0, or off`);
  }
  return db;
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  return integerAtLeast(1, flag, value);
}

function nonNegativeInteger(flag: string, value: string | undefined): number | undefined {
  return integerAtLeast(0, flag, value);
}

function integerAtLeast(min: number, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min)
    throw new CliError(`invalid ${flag} "${value}": a whole number ≥ ${min}`);
  return number;
}

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}
