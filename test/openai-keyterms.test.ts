/**
 * OpenAI's `prompt` as key terms, through the `openai` SDK and a real server: on a model that
 * honours key terms (sherpa-onnx with modified_beam_search; here the generated tiny transducer, on
 * which the key term "B" wins where it otherwise loses by one logit) the prompt's phrases become key
 * terms and the header that names ignored fields does not list it; on one that cannot, it is
 * ignored and named.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { concatPcm, writeWav } from "@earshot/audio";
import { SherpaOnnxEngine } from "@earshot/engine-sherpa";
import { noisePcm, writeTinyTransducer } from "@earshot/engine-sherpa/testing/tiny-transducer";
import { createServer, type EarshotServer } from "@earshot/server";
import OpenAI, { toFile } from "openai";

const KEY = "openai-key";
// Silence, 1 s of noise (the tiny model's "speech"), silence: one final.
const WAV = writeWav(16_000, [concatPcm(new Int16Array(8_000), noisePcm(1000, 0.5), new Int16Array(16_000))]);

async function transcribe(client: OpenAI, prompt?: string): Promise<{ text: string; ignored: string | null }> {
  const { data, response } = await client.audio.transcriptions
    .create({
      file: await toFile(WAV, "noise.wav", { type: "audio/wav" }),
      model: "tiny-transducer",
      ...(prompt === undefined ? {} : { prompt }),
    })
    .withResponse();
  return { text: data.text, ignored: response.headers.get("x-earshot-ignored-fields") };
}

for (const decodingMethod of ["modified_beam_search", "greedy_search"] as const) {
  describe(`OpenAI prompt with sherpa-onnx ${decodingMethod}`, () => {
    let root: string;
    let server: EarshotServer;
    let client: OpenAI;

    before(async () => {
      root = await mkdtemp(join(tmpdir(), "earshot-openai-keyterms-"));
      const dir = join(root, "tiny-transducer");
      await writeTinyTransducer(dir);
      server = createServer({ engine: new SherpaOnnxEngine({ models: [dir], decodingMethod }), apiKeys: [KEY] });
      const { url } = await server.listen({ port: 0 });
      await server.ready;
      client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
    });
    after(async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    });

    it(
      decodingMethod === "modified_beam_search"
        ? "uses the prompt's phrases as key terms"
        : "ignores the prompt and says so",
      async () => {
        const plain = await transcribe(client);
        assert.match(plain.text, /^A+$/);
        const prompted = await transcribe(client, "Zed, B; earshot");
        if (decodingMethod === "modified_beam_search") {
          assert.match(prompted.text, /B/);
          assert.equal(prompted.ignored, null);
        } else {
          assert.equal(prompted.text, plain.text);
          assert.equal(prompted.ignored, "prompt");
        }
      },
    );
  });
}
