using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace LoadGen;

/// <summary>
/// <c>failover</c>: writers and readers of one tenant spread round-robin over the silos of a cluster; one silo is
/// killed (SIGKILL) at <c>--kill-at</c> seconds; what the surviving silos answered is counted per second after the
/// kill (bench/run-failover.sh drives it).
/// </summary>
/// <remarks>
/// Options: <c>--urls u1,u2,u3 --token KEY --kill-pid PID [--kill-index 2] [--concurrency 8] [--kill-at 8]
/// [--duration 30] [--reads 0.5] [--events FILE] [--acknowledged FILE]</c>. Each worker alternates a create
/// (POST /v1/resources with a fresh Idempotency-Key) and, with probability <c>--reads</c>, a GET of a resource
/// acknowledged earlier (so reads reach grains that lived on the killed silo). Requests meant for the killed silo are
/// skipped after the kill, as a load balancer would stop sending there. The summary: per second after the kill, the
/// surviving silos' answers by class; time to the first second in which every answer was a success (and every later
/// second too); refusals (503) and failures (5xx other than 503, transport errors) in total; the slowest answer. Then
/// every acknowledged create is read back from a surviving silo (missing ones are reported and fail the run).
/// </remarks>
internal static class Failover
{
    private sealed record Event(double AtMs, int Target, bool Read, int Status, double LatencyMs);

    public static async Task<int> RunAsync(Options o)
    {
        var urls = o.Required("urls").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(u => new Uri(u)).ToArray();
        if (urls.Length < 2 || urls.Any(u => !u.IsLoopback))
        {
            throw new ArgumentException("--urls needs two or more loopback base URLs");
        }

        var token = o.Optional("token") ?? Environment.GetEnvironmentVariable("BENCH_TOKEN") ?? throw new ArgumentException("--token is required");
        var killPid = o.Int("kill-pid", 0);
        var killIndex = o.Int("kill-index", urls.Length - 1);
        var concurrency = o.Int("concurrency", 8);
        var killAt = TimeSpan.FromSeconds(o.Double("kill-at", 8));
        var duration = TimeSpan.FromSeconds(o.Double("duration", 30));
        var readShare = o.Double("reads", 0.5);
        if (killPid <= 0 || killIndex < 0 || killIndex >= urls.Length || duration > TimeSpan.FromMinutes(5) || killAt >= duration)
        {
            throw new ArgumentException("--kill-pid, a --kill-index among --urls, --kill-at < --duration <= 300 s are required");
        }

        var clients = urls.Select(u => Client(u, token, concurrency)).ToArray();
        var events = new ConcurrentQueue<Event>();
        var acknowledged = new ConcurrentBag<(string Id, int Silo)>();
        var readable = new List<string>();
        var readableGate = new Lock();
        var clock = Stopwatch.StartNew();
        var killedAtMs = double.NaN;
        var killed = 0;
        var run = Guid.NewGuid().ToString("N")[..8];
        var sequence = 0L;

        async Task WorkerAsync(int worker)
        {
            var random = new Random(worker);
            for (var n = 0L; clock.Elapsed < duration; n++)
            {
                var target = (int)((worker + n) % urls.Length);
                if (Volatile.Read(ref killed) == 1 && target == killIndex)
                {
                    continue;
                }

                string? readId = null;
                if (random.NextDouble() < readShare)
                {
                    lock (readableGate)
                    {
                        readId = readable.Count == 0 ? null : readable[random.Next(readable.Count)];
                    }
                }

                using var request = readId is null
                    ? new HttpRequestMessage(HttpMethod.Post, "/v1/resources")
                    {
                        Content = new StringContent(JsonSerializer.Serialize(new { name = $"failover-{run}-{Interlocked.Increment(ref sequence)}" }),
                            Encoding.UTF8, "application/json"),
                    }
                    : new HttpRequestMessage(HttpMethod.Get, "/v1/resources/" + readId);
                if (readId is null)
                {
                    request.Headers.TryAddWithoutValidation("Idempotency-Key", Guid.NewGuid().ToString("N"));
                }

                var started = clock.Elapsed.TotalMilliseconds;
                int status;
                try
                {
                    using var response = await clients[target].SendAsync(request);
                    status = (int)response.StatusCode;
                    if (readId is null && status == 201)
                    {
                        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                        var id = doc.RootElement.GetProperty("data").GetProperty("id").GetString()!;
                        acknowledged.Add((id, target));
                        lock (readableGate)
                        {
                            readable.Add(id);
                        }
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // The connection to the killed silo broke (the request was cut off: never acknowledged), or no answer
                    // within the client's timeout.
                    status = e is TaskCanceledException ? -2 : -1;
                }

                events.Enqueue(new Event(started, target, readId is not null, status, clock.Elapsed.TotalMilliseconds - started));
            }
        }

        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(() => WorkerAsync(w))).ToArray();
        await Task.Delay(killAt);
        using (var kill = Process.Start("kill", ["-KILL", killPid.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        killedAtMs = clock.Elapsed.TotalMilliseconds;
        Volatile.Write(ref killed, 1);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"killed pid {killPid} (silo {killIndex + 1}) at {killedAtMs / 1000:F2} s"));
        await Task.WhenAll(workers);

        if (o.Optional("events") is { } eventsFile)
        {
            await File.WriteAllLinesAsync(eventsFile, events.OrderBy(e => e.AtMs).Select(e => string.Create(CultureInfo.InvariantCulture,
                $"{(e.AtMs - killedAtMs) / 1000:F3},{e.Target + 1},{(e.Read ? "GET" : "POST")},{e.Status},{e.LatencyMs:F1}")));
        }

        // Seconds after the kill, surviving silos only.
        var after = events.Where(e => e.AtMs >= killedAtMs && e.Target != killIndex).ToList();
        var before = events.Where(e => e.AtMs < killedAtMs).ToList();
        static bool Ok(Event e) => e.Status is >= 200 and < 300;
        var seconds = (int)Math.Ceiling((duration.TotalMilliseconds - killedAtMs) / 1000);
        var rows = new StringBuilder();
        rows.AppendLine("| second after kill | answers | 2xx | 503 | other 5xx | transport errors | other | slowest ms |");
        rows.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        var firstCleanSecond = -1;
        for (var s = seconds - 1; s >= 0; s--)
        {
            var slice = after.Where(e => (int)((e.AtMs - killedAtMs) / 1000) == s).ToList();
            if (slice.Count > 0 && slice.All(Ok))
            {
                firstCleanSecond = s;
            }
            else if (slice.Count > 0)
            {
                break;
            }
        }

        for (var s = 0; s < seconds; s++)
        {
            var slice = after.Where(e => (int)((e.AtMs - killedAtMs) / 1000) == s).ToList();
            rows.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {s} | {slice.Count} | {slice.Count(Ok)} | {slice.Count(e => e.Status == 503)} | {slice.Count(e => e.Status >= 500 && e.Status != 503)} | {slice.Count(e => e.Status < 0)} | {slice.Count(e => e.Status is >= 300 and < 500)} | {(slice.Count == 0 ? 0 : slice.Max(e => e.LatencyMs)):F0} |"));
        }

        var refused = after.Count(e => e.Status == 503);
        var failed = after.Count(e => e.Status >= 500 && e.Status != 503 || e.Status < 0);
        var lastRefusal = after.Where(e => !Ok(e)).Select(e => (e.AtMs + e.LatencyMs - killedAtMs) / 1000).DefaultIfEmpty(0).Max();

        // Every acknowledged create is still there (read from the first surviving silo).
        var survivor = clients[killIndex == 0 ? 1 : 0];
        var missing = 0;
        foreach (var (id, _) in acknowledged)
        {
            for (var attempt = 0; ; attempt++)
            {
                using var response = await survivor.GetAsync("/v1/resources/" + id);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    break;
                }

                if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 20)
                {
                    missing++;
                    Console.WriteLine($"acknowledged {id} answered {(int)response.StatusCode}");
                    break;
                }

                await Task.Delay(500);
            }
        }

        Console.Write(rows.ToString());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"summary: before_kill={before.Count} before_kill_failed={before.Count(e => !Ok(e))} after_kill={after.Count} ok={after.Count(Ok)} refused_503={refused} failed_other={failed} " +
            $"refused_reads={after.Count(e => e.Read && e.Status == 503)} refused_writes={after.Count(e => !e.Read && e.Status == 503)} " +
            $"first_clean_second={firstCleanSecond} last_failure_s={lastRefusal:F2} slowest_ms={(after.Count == 0 ? 0 : after.Max(e => e.LatencyMs)):F0} " +
            $"acknowledged={acknowledged.Count} missing={missing}"));
        foreach (var client in clients)
        {
            client.Dispose();
        }

        return missing == 0 && failed == 0 ? 0 : 1;
    }

    private static HttpClient Client(Uri baseUrl, string token, int connections)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(2),
        };
        var http = new HttpClient(handler) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.TryAddWithoutValidation("x-api-key", token);
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return http;
    }
}
