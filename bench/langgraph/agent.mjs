// The LangGraph.js side of keel_agent_bench (W6, docs/benchmarks.md): R agent
// runs, C at a time, each a prebuilt ReAct agent (createReactAgent) with one
// `echo` tool, checkpointed to a SQLite file (SqliteSaver) with durability
// "sync" (a step's checkpoint is written before the next step starts), each
// run on its own thread_id. The model is ChatOpenAI pointed at the bench's
// OpenAI-compatible stub (keel_model_stub), which asks for echo on turns 1
// and 2 and answers "done" on turn 3; streaming is off.
//
// Every run is checked: 3 model calls (AI messages), 2 tool calls (tool
// messages answering the calls the model made), the final answer, and a
// checkpoint in the database for its thread. Prints one JSON object on
// stdout; exits 1 if a run failed or was wrong, 2 on a usage error.
//
//   node agent.mjs --base-url http://127.0.0.1:PORT/v1 [--runs 200] [--concurrency 16]
//                  [--warmup 20] [--db DIR/checkpoints.sqlite] [--fsync]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { tool } from "@langchain/core/tools";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { ChatOpenAI } from "@langchain/openai";
import { z } from "zod";

const TURNS_PER_RUN = 3;
const TOOL_CALLS_PER_RUN = 2;

function usage(why) {
  process.stderr.write(`agent.mjs: ${why}\n` +
    "usage: node agent.mjs --base-url URL [--runs N] [--concurrency C] [--warmup N] [--db FILE] [--fsync]\n");
  process.exit(2);
}

const { values: opt } = parseArgs({
  options: {
    "base-url": { type: "string" },
    runs: { type: "string", default: "200" },
    concurrency: { type: "string", default: "16" },
    warmup: { type: "string", default: "20" },
    db: { type: "string" },
    fsync: { type: "boolean", default: false },
  },
});
if (!opt["base-url"]) usage("--base-url is required (the stub's http://127.0.0.1:PORT/v1)");
const runs = Number.parseInt(opt.runs, 10);
const concurrency = Number.parseInt(opt.concurrency, 10);
const warmup = Number.parseInt(opt.warmup, 10);
if (!(runs >= 1) || !(concurrency >= 1) || !(warmup >= 0)) usage("--runs and --concurrency take numbers >= 1, --warmup >= 0");

const here = dirname(fileURLToPath(import.meta.url));
const versionOf = (pkg) => JSON.parse(readFileSync(join(here, "node_modules", pkg, "package.json"), "utf8")).version;

const scratch = opt.db ? null : mkdtempSync(join(tmpdir(), "keel-w6-langgraph-"));
const dbPath = opt.db ?? join(scratch, "checkpoints.sqlite");
const saver = SqliteSaver.fromConnString(dbPath);
// SqliteSaver opens the file in WAL mode with SQLite's default synchronous=FULL
// (an fsync per commit). Without --fsync the bench sets NORMAL: a commit
// survives a crash of the process but not of the machine, as Keel's default
// (workflows.sync: false) does; --fsync keeps FULL, as Keel's sync: true.
saver.db.pragma("journal_mode=WAL");
saver.db.pragma(`synchronous=${opt.fsync ? "FULL" : "NORMAL"}`);

const echo = tool(async ({ text }) => JSON.stringify({ text }), {
  name: "echo",
  description: "Returns the text it is given.",
  schema: z.object({ text: z.string() }),
});

const llm = new ChatOpenAI({
  model: "stub",
  apiKey: "unused",
  configuration: { baseURL: opt["base-url"] },
  streaming: false,
  disableStreaming: true,
  maxRetries: 0,
  timeout: 30_000,
});

const agent = createReactAgent({ llm, tools: [echo], checkpointSaver: saver });

// One run: its checks return a reason when something is off, else null.
async function oneRun(threadId, n) {
  const out = await agent.invoke(
    { messages: [{ role: "user", content: `Call echo twice, then say done. Run ${n}.` }] },
    { configurable: { thread_id: threadId }, durability: "sync", recursionLimit: 20 },
  );
  const msgs = out.messages;
  const ai = msgs.filter((m) => m.getType() === "ai");
  const toolMsgs = msgs.filter((m) => m.getType() === "tool");
  const calls = ai.flatMap((m) => m.tool_calls ?? []);
  if (ai.length !== TURNS_PER_RUN) return { ai, toolMsgs, why: `${ai.length} model calls, not ${TURNS_PER_RUN}` };
  if (toolMsgs.length !== TOOL_CALLS_PER_RUN || calls.length !== TOOL_CALLS_PER_RUN)
    return { ai, toolMsgs, why: `${calls.length} tool calls and ${toolMsgs.length} tool results, not ${TOOL_CALLS_PER_RUN}` };
  for (const [i, call] of calls.entries()) {
    if (call.name !== "echo" || toolMsgs[i].tool_call_id !== call.id || toolMsgs[i].content !== JSON.stringify(call.args))
      return { ai, toolMsgs, why: `tool call ${i + 1} (${call.name} ${JSON.stringify(call.args)}) was not answered by echo` };
  }
  const last = ai[ai.length - 1];
  if (last.content !== "done") return { ai, toolMsgs, why: `final answer ${JSON.stringify(last.content)}, not "done"` };
  return { ai, toolMsgs, why: null };
}

// Runs `count` agents, `concurrency` at a time; returns counts and latencies.
async function drive(prefix, count) {
  const res = { runs: 0, turns: 0, toolCalls: 0, failures: 0, firstFailure: null, latencyMs: [] };
  let next = 0;
  async function worker() {
    while (next < count) {
      const n = next++;
      const t0 = performance.now();
      try {
        const r = await oneRun(`${prefix}-${n}`, n);
        res.latencyMs.push(performance.now() - t0);
        res.runs++;
        res.turns += r.ai.length;
        res.toolCalls += r.toolMsgs.length;
        if (r.why) {
          res.failures++;
          res.firstFailure ??= `run ${prefix}-${n}: ${r.why}`;
        }
      } catch (err) {
        res.failures++;
        res.firstFailure ??= `run ${prefix}-${n}: ${err?.message ?? err}`;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return res;
}

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  const k = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[k - 1];
}

if (warmup > 0) {
  const w = await drive("warm", warmup);
  if (w.failures) {
    process.stderr.write(`agent.mjs: warm-up failed: ${w.failures} of ${warmup} runs; first: ${w.firstFailure}\n`);
    process.exit(1);
  }
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const r = await drive("run", runs);
const wallS = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);

const threads = saver.db
  .prepare("SELECT COUNT(DISTINCT thread_id) AS n FROM checkpoints WHERE thread_id LIKE 'run-%'")
  .get().n;
if (threads !== runs && r.failures === 0) {
  r.failures++;
  r.firstFailure = `${threads} threads checkpointed in ${dbPath}, not ${runs}`;
}
const lat = r.latencyMs.sort((a, b) => a - b);
const report = {
  system: "langgraph.js",
  versions: {
    node: process.versions.node,
    "@langchain/langgraph": versionOf("@langchain/langgraph"),
    "@langchain/langgraph-checkpoint-sqlite": versionOf("@langchain/langgraph-checkpoint-sqlite"),
    "@langchain/openai": versionOf("@langchain/openai"),
    "@langchain/core": versionOf("@langchain/core"),
    "better-sqlite3": versionOf("better-sqlite3"),
  },
  durability: "sync",
  sqlite_synchronous: opt.fsync ? "FULL" : "NORMAL",
  runs: r.runs,
  warmup_runs: warmup,
  concurrency,
  turns: r.turns,
  tool_calls: r.toolCalls,
  threads_checkpointed: threads,
  wall_s: wallS,
  turns_per_s: r.turns / wallS,
  runs_per_s: r.runs / wallS,
  run_latency_ms: { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), max: lat.at(-1) ?? 0 },
  cpu_us_per_turn: r.turns ? ((cpu.user + cpu.system) / r.turns) : 0,
  failures: r.failures,
  first_failure: r.firstFailure,
};
process.stdout.write(JSON.stringify(report) + "\n");
saver.db.close();
if (scratch) rmSync(scratch, { recursive: true, force: true });
process.exit(r.failures ? 1 : 0);
