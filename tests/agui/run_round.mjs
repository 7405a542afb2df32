#!/usr/bin/env node
// Run ONE AG-UI run against quizrelay with the official client, @ag-ui/client's HttpAgent,
// and print what the client saw as one JSON object on stdout. Used by pytest:
//
//     node tests/agui/run_round.mjs scenario.json
//
// scenario.json (only `url` is required):
//   url             the AG-UI endpoint, e.g. "http://127.0.0.1:8000/api/agui"
//   threadId?       RunAgentInput.threadId (the quiz game); the client makes a UUID if absent
//   runId?          RunAgentInput.runId (the round id); the client makes a UUID if absent
//   forwardedProps? round options, e.g. {"pipeline": "chat", "mode": "human"}
//   messages?       the thread's messages (the agent's initial messages); a message without
//                   an `id` gets "msg-<index>" (the client's schema requires one)
//   resume?         [{interruptId, status: "resolved"|"cancelled", payload?}]
//   headers?        extra request headers, e.g. {"Authorization": "Bearer t"}
//   tools?, context?, state?   passed through as RunAgentInput fields
//   pendingInterrupts?  interrupts of the previous run, as a long-lived agent would hold them
//                   (agent.pendingInterrupts): the client then refuses a run whose `resume`
//                   does not answer each of them, before sending anything
//
// Output (stdout, exactly one JSON object):
//   ok          true when runAgent resolved and the stream ended with RUN_FINISHED
//   error       null, or why not: the client's exception (verification, schema, HTTP),
//               "RUN_ERROR <code>: <message>", or "stream ended without RUN_FINISHED or RUN_ERROR"
//   httpStatus, httpBody   set when the endpoint answered a non-2xx status
//   events      every event the client passed to subscribers, in order (after its schema
//               enforcement, chunk expansion and verification: a rejected event is not here)
//   messages    agent.messages after the run;  state: agent.state
//   threadId    agent.threadId;  runId: the runId the client sent
//   finished    the RUN_FINISHED event or null;  runError: the RUN_ERROR event or null
//   pendingInterrupts   agent.pendingInterrupts after the run;  result: runAgent's result
//   warnings    what the client wrote with console.warn/error (e.g. stripped unknown fields)
//
// Exit code 0 whenever the harness itself worked, whatever the run did; 1 on a harness crash.
// All of the client's checks stay on: no middleware, no stopPropagation, nothing disabled.

import { readFileSync } from "node:fs";
import { HttpAgent, randomUUID } from "@ag-ui/client";

// The client reports deviations on the console; keep stdout for the one JSON object.
const warnings = [];
for (const level of ["log", "info", "warn", "error", "debug"]) {
  console[level] = (...args) =>
    warnings.push(
      `${level}: ` +
        args.map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : JSON.stringify(a))).join(" "),
    );
}

async function main(path) {
  const scenario = JSON.parse(readFileSync(path, "utf8"));
  if (typeof scenario.url !== "string") throw new Error("scenario.url is required");

  const agent = new HttpAgent({
    url: scenario.url,
    headers: scenario.headers ?? {},
    threadId: scenario.threadId,
    initialMessages: (scenario.messages ?? []).map((m, i) => ({ id: `msg-${i}`, ...m })),
    initialState: scenario.state,
  });
  if (scenario.pendingInterrupts) agent.pendingInterrupts = scenario.pendingInterrupts;

  // The runId the client sends: the scenario's, or a fresh one (as the client itself would).
  const runId = scenario.runId ?? randomUUID();
  const events = [];
  let finished = null;
  let runError = null;
  // A per-run subscriber (runAgent's second argument): sees each event once it has passed
  // the client's verification, before the client applies it to messages and state.
  const subscriber = {
    onEvent: ({ event }) => {
      events.push(structuredClone(event));
      if (event.type === "RUN_FINISHED") finished = structuredClone(event);
      if (event.type === "RUN_ERROR") runError = structuredClone(event);
    },
  };

  let error = null;
  let httpStatus = null;
  let httpBody = null;
  let result = null;
  try {
    const parameters = {
      runId,
      forwardedProps: scenario.forwardedProps ?? {},
      ...(scenario.tools !== undefined && { tools: scenario.tools }),
      ...(scenario.context !== undefined && { context: scenario.context }),
      ...(scenario.resume !== undefined && { resume: scenario.resume }),
    };
    ({ result } = await agent.runAgent(parameters, subscriber));
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    if (typeof err?.status === "number") {
      httpStatus = err.status;
      httpBody = err.payload ?? null;
    }
  }
  if (error === null && runError !== null) {
    error = `RUN_ERROR ${runError.code ?? ""}: ${runError.message}`;
  } else if (error === null && finished === null) {
    // The client does not itself object to a stream that just stops; the harness does.
    error = "stream ended without RUN_FINISHED or RUN_ERROR";
  }

  return {
    ok: error === null,
    error,
    httpStatus,
    httpBody,
    events,
    messages: agent.messages,
    state: agent.state,
    threadId: agent.threadId,
    runId,
    finished,
    runError,
    pendingInterrupts: agent.pendingInterrupts,
    result: result ?? null,
    warnings,
  };
}

if (process.argv.length !== 3) {
  process.stderr.write("usage: node tests/agui/run_round.mjs <scenario.json>\n");
  process.exit(2);
}
try {
  process.stdout.write(JSON.stringify(await main(process.argv[2])) + "\n");
} catch (err) {
  process.stderr.write(`run_round.mjs: harness error: ${err?.stack ?? err}\n`);
  process.exit(1);
}
