/**
 * Silent streams (issue 15): N streams that connect one after another, configure, and then send
 * only silence in 100 ms chunks, paced live, for `--seconds`. Reports how many were admitted and
 * refused, the RSS each admitted one added (server plus decoding processes, against the idle
 * server), and the decoders lent while they were silent (from /metrics; none is the goal).
 *
 *   node bench/dist/load/silent-run.js --streams 16 --seconds 20 [--server-dir DIR] [--label L]
 */
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { describeCheckout, describeMachine } from "../machine.js";
import { treeRssMb } from "./proc-stats.js";
import { OWN_REPO, scrapeMetric, sleep, startServer, waitForReadyz } from "./server-process.js";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "16" },
    seconds: { type: "string", default: "20" },
    "server-dir": { type: "string" },
    label: { type: "string", default: "" },
  },
});
const streams = Number(values.streams);
const seconds = Number(values.seconds);
const repo = values["server-dir"] ?? OWN_REPO;
const CONFIG = {
  type: "config",
  config: {
    model: "pocketsphinx-en-us",
    language: "en",
    response_format: "verbose_json",
    timestamp_granularity: "word",
  },
};

const server = await startServer("pocketsphinx", streams, [], [], repo);
try {
  await waitForReadyz(server);
  await sleep(5_000);
  const idleMb = treeRssMb(server.pid);
  const open: WebSocket[] = [];
  let refused = 0;
  for (let i = 0; i < streams; i++) {
    const key = server.keys[i % server.keys.length] as string;
    const admitted = await new Promise<WebSocket | undefined>((resolve) => {
      const ws = new WebSocket(server.url, { headers: { Authorization: `Bearer ${key}` } });
      ws.on("unexpected-response", () => resolve(undefined));
      ws.on("error", () => resolve(undefined));
      ws.on("open", () => ws.send(JSON.stringify(CONFIG)));
      ws.on("message", (data) => {
        const message = JSON.parse(String(data)) as { type: string };
        if (message.type === "session_started") resolve(ws);
        else if (message.type === "error") resolve(undefined);
      });
    });
    if (admitted) open.push(admitted);
    else refused++;
  }
  const silence = Buffer.alloc(3_200).toString("hex");
  let lentMax = 0;
  for (const started = Date.now(); Date.now() - started < seconds * 1_000; ) {
    for (const ws of open) ws.send(JSON.stringify({ type: "audio_chunk", audio: silence }));
    lentMax = Math.max(lentMax, (await scrapeMetric(server, "earshot_decoder_pool_lent")) ?? Number.NaN);
    await sleep(100);
  }
  const loadedMb = treeRssMb(server.pid);
  for (const ws of open) ws.close();
  const perStream = open.length > 0 ? (loadedMb - idleMb) / open.length : Number.NaN;
  const result = {
    label: values.label,
    server: describeCheckout(repo),
    machine: describeMachine(`node bench/dist/load/silent-run.js --streams ${streams} --seconds ${seconds}`),
    streams,
    admitted: open.length,
    refused,
    idleMb: Math.round(idleMb),
    loadedMb: Math.round(loadedMb),
    perStreamMb: Math.round(perStream * 10) / 10,
    decodersLentMax: Number.isNaN(lentMax) ? "n/a" : lentMax,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await server.stop();
}
