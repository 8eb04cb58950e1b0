// The benchmark's driver of the original glue, warm: load it once, then hand it one event per line of stdin and
// answer one line each: the milliseconds the handler took (timed in this process), the AWS calls it made, its result.
import { createInterface } from "node:readline";
import { ECSClient } from "@aws-sdk/client-ecs";

let calls = 0;
const send = ECSClient.prototype.send;
ECSClient.prototype.send = function (...args) {
  calls += 1;
  return send.apply(this, args);
};
const { handler } = await import("./index.mjs");

for await (const line of createInterface({ input: process.stdin })) {
  const event = JSON.parse(line);
  const before = calls;
  const start = performance.now();
  const result = await handler(event);
  const ms = performance.now() - start;
  process.stdout.write(JSON.stringify({ ms, calls: calls - before, result }) + "\n");
}
