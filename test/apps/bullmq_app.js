// BullMQ through redoubt: a queue and a worker process N jobs.
// Only REDIS_URL tells it where Redis is.
const { Queue, Worker, QueueEvents } = require("bullmq");
const IORedis = require("ioredis");

async function main() {
  const n = Number(process.argv[2] || 100);
  const url = process.env.REDIS_URL;
  const conn = () => new IORedis(url, { maxRetriesPerRequest: null });
  const name = `redoubt-${process.pid}`;
  const queue = new Queue(name, { connection: conn() });
  let done = 0;
  const finished = new Promise((resolve, reject) => {
    const worker = new Worker(name, async (job) => job.data.i * 2, { connection: conn() });
    worker.on("completed", () => { if (++done === n) resolve(worker); });
    worker.on("failed", (job, err) => reject(err));
    worker.on("error", reject);
  });
  for (let i = 0; i < n; i++) await queue.add("double", { i });
  const timer = setTimeout(() => { console.error(`bullmq: only ${done} of ${n} jobs done`); process.exit(1); }, 60000);
  const worker = await finished;
  clearTimeout(timer);
  const counts = await queue.getJobCounts("completed", "failed");
  if (counts.completed !== n || counts.failed !== 0) throw new Error(`counts ${JSON.stringify(counts)}`);
  await worker.close();
  await queue.close();
  console.log(`bullmq: ${n} jobs done`);
  process.exit(0);
}
main().catch((e) => { console.error("bullmq:", e); process.exit(1); });
