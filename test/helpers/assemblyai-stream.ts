/** A file through AssemblyAI's streaming SDK (`assemblyai`), as the parity tests stream it. */
import type { AssemblyAI, TurnEvent } from "assemblyai";

const SAMPLES_PER_MESSAGE = 1_600;
const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

/**
 * `pcm` (16 kHz) to `${wss}/v3/ws` in 100 ms messages, then `Terminate`: the words of the ended,
 * unformatted turns.
 */
export async function transcribeWithAssemblyAi(client: AssemblyAI, wss: string, pcm: Int16Array): Promise<string> {
  const transcriber = client.streaming.transcriber({
    websocketBaseUrl: `${wss}/v3/ws`,
    sampleRate: 16_000,
    speechModel: "universal-streaming-english",
    maxConnectionRetries: 0,
    connectTimeout: 10_000,
  });
  const turns: TurnEvent[] = [];
  transcriber.on("turn", (turn) => turns.push(turn));
  await transcriber.connect();
  for (let at = 0; at < pcm.length; at += SAMPLES_PER_MESSAGE) {
    transcriber.sendAudio(pcm.slice(at, at + SAMPLES_PER_MESSAGE).buffer);
    await pause();
  }
  await transcriber.close();
  return turns
    .filter((turn) => turn.end_of_turn && !turn.turn_is_formatted)
    .map((turn) => turn.transcript)
    .join(" ");
}
