// The benchmark's driver of the original glue, cold: in a fresh process, load it (the SDK and its client) and hand
// it the event in BENCH_EVENT; print the milliseconds from this module's first statement, and since the process
// started. No static import: those would run before the first statement.
const start = performance.now();
const { handler } = await import("./index.mjs");
const result = await handler(JSON.parse(process.env.BENCH_EVENT));
const end = performance.now();
console.log(JSON.stringify({ ms: end - start, since_start_ms: end, result }));
