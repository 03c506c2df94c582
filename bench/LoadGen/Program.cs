using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace LoadGen;

/// <summary>
/// A small closed-loop HTTP load generator for the resources API (bench/run-resources.sh drives it).
/// Loopback only, bounded in time and request count, no packages: HttpClient, Stopwatch, a sorted latency array.
/// </summary>
/// <remarks>
/// Commands (options are <c>--name value</c>; <c>--base-url</c> everywhere, <c>--token</c> or env BENCH_TOKEN where
/// a credential is needed):
/// <list type="bullet">
/// <item><c>register --email E --username U --password P</c>: prints "access_token user_id".</item>
/// <item><c>seed --count N --concurrency C</c>: creates N resources through POST /v1/resources.</item>
/// <item><c>run --name X --path P [--method GET|POST] [--concurrency 32] [--warmup 3] [--duration 15]
///   [--max-requests N] [--expect 200] [--results FILE]</c>: fixed-duration load after a warm-up.</item>
/// <item><c>cursor-at --page P [--per-page 20]</c>: prints the cursor whose page equals offset page P (taken from
///   offset page P-1's meta.next_cursor), after checking that both modes return the same ids.</item>
/// <item><c>walk --pages N [--per-page 20] [--results FILE]</c>: follows meta.next_cursor from page 1 to page N one
///   request at a time, checks the last page against offset page N, prints its cursor.</item>
/// <item><c>idle --snapshot-cmd CMD [--duration 10] [--settle 1.5]</c>: the counters' change over a window without
///   requests (the silo's background work).</item>
/// <item><c>failover --urls U1,U2,U3 --kill-pid PID ...</c>: kill -9 of one silo under load, answers per second after
///   it (see <see cref="Failover"/>).</item>
/// <item><c>tenants --count N --password P --out FILE</c>: N accounts, each with an API key (see
///   <see cref="TenantMix.SeedAsync"/>).</item>
/// </list>
/// <c>run</c> also takes <c>--token T</c> (instead of BENCH_TOKEN), <c>--expect STATUS</c>, <c>--snapshot-cmd CMD</c>
/// (a command printing key=value counters, e.g. bench/stats-snapshot.sh: the load pauses after the warm-up, the counters
/// are read before and after the window, and their change per request is printed) and <c>--settle SECONDS</c> (the
/// quiet time before each reading, 1.5 by default). With <c>--tenants FILE [--pick zipf|once] [--zipf 1.0] [--mix
/// get_one=80,list_first=15,create=5]</c> each request goes to a tenant of the file with that tenant's own key
/// (<see cref="TenantMix"/>; --path and --method are then unused), and the figures are also given per operation.
/// </remarks>
internal static class Program
{
    private const long HardMaxRequests = 5_000_000;

    private static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.Error.WriteLine("usage: LoadGen register|seed|run|cursor-at|walk|idle|failover|tenants --base-url http://127.0.0.1:PORT [options]");
            return 2;
        }

        try
        {
            var options = Options.Parse(args[1..]);
            return args[0] switch
            {
                "register" => await RegisterAsync(options),
                "seed" => await SeedAsync(options),
                "run" => await RunAsync(options),
                "cursor-at" => await CursorAtAsync(options),
                "walk" => await WalkAsync(options),
                "idle" => await IdleAsync(options),
                "failover" => await Failover.RunAsync(options),
                "tenants" => await TenantMix.SeedAsync(options, connections => Client(options, connections, withToken: false)),
                _ => throw new ArgumentException($"unknown command '{args[0]}'"),
            };
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"LoadGen: {e.Message}");
            return 2;
        }
    }

    // ------------------------------------------------------------------ commands

    private static async Task<int> RegisterAsync(Options o)
    {
        using var http = Client(o, 1, withToken: false);
        var body = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["email"] = o.Required("email"),
            ["username"] = o.Required("username"),
            ["password"] = o.Required("password"),
        });
        using var response = await http.PostAsync("/v1/auth/register", Json(body));
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Created)
        {
            Console.Error.WriteLine($"register: {(int)response.StatusCode} {text}");
            return 1;
        }

        using var doc = JsonDocument.Parse(text);
        var token = doc.RootElement.GetProperty("access_token").GetString();
        var userId = doc.RootElement.GetProperty("user").GetProperty("id").GetString();
        Console.WriteLine($"{token} {userId}");
        return 0;
    }

    /// <summary>N creates through the real write path, each retried a few times on failure, C at a time.</summary>
    private static async Task<int> SeedAsync(Options o)
    {
        var count = o.Int("count", 100_000);
        var concurrency = o.Int("concurrency", 64);
        using var http = Client(o, concurrency, withToken: true);
        var next = -1L;
        var failed = 0L;
        var retries = 0L;
        var latencies = new List<long>[concurrency];
        var progressAt = Stopwatch.GetTimestamp();
        var start = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = new List<long>(count / concurrency + 1);
            long i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var ok = false;
                for (var attempt = 0; attempt < 5 && !ok; attempt++)
                {
                    if (attempt > 0)
                    {
                        Interlocked.Increment(ref retries);
                        await Task.Delay(100 * attempt);
                    }

                    var t0 = Stopwatch.GetTimestamp();
                    try
                    {
                        using var response = await http.PostAsync("/v1/resources", Json(CreateBody(i)));
                        await response.Content.LoadIntoBufferAsync();
                        ok = response.StatusCode == HttpStatusCode.Created;
                        if (!ok && attempt == 4)
                        {
                            Console.Error.WriteLine($"seed: item {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        if (attempt == 4)
                        {
                            Console.Error.WriteLine($"seed: item {i}: {e.GetType().Name}: {e.Message}");
                        }
                    }

                    mine.Add(Stopwatch.GetTimestamp() - t0);
                }

                if (!ok)
                {
                    Interlocked.Increment(ref failed);
                }

                if (w == 0 && Stopwatch.GetElapsedTime(progressAt).TotalSeconds >= 10)
                {
                    progressAt = Stopwatch.GetTimestamp();
                    var done = Math.Min(Interlocked.Read(ref next), count);
                    Console.Error.WriteLine(Inv($"seed: {done:N0}/{count:N0} after {Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s"));
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(start);
        var stats = LatencyStats.From(latencies, elapsed);
        Console.Error.WriteLine(Inv(
            $"seed: {count - failed:N0} created in {elapsed.TotalSeconds:F1} s ({(count - failed) / elapsed.TotalSeconds:F0}/s) at concurrency {concurrency}; {retries} retries, {failed} failed; latency p50 {stats.P50:F1} ms, p99 {stats.P99:F1} ms"));
        var results = o.Optional("results");
        if (results is not null)
        {
            File.AppendAllText(results, stats.Row($"seed: POST /v1/resources ×{count:N0} (HTTP)", concurrency, failed) + " – | – | – | – |\n");
        }

        return failed == 0 ? 0 : 1;
    }

    /// <summary>
    /// Fixed duration after a warm-up, N workers in a closed loop; prints and records the figures. With
    /// <c>--snapshot-cmd</c>, the load pauses after the warm-up until the database's statistics have settled, and the
    /// command's counters (key=value pairs) are read before and after the measured window, so their deltas divided by
    /// the measured requests say what one request costs in database transactions, rows and CPU time.
    /// </summary>
    private static async Task<int> RunAsync(Options o)
    {
        var name = o.Required("name");
        var path = o.Optional("tenants") is null ? o.Required("path") : "";
        var method = o.Optional("method") ?? "GET";
        var concurrency = o.Int("concurrency", 32);
        var warmup = TimeSpan.FromSeconds(o.Double("warmup", 3));
        var duration = TimeSpan.FromSeconds(o.Double("duration", 15));
        var maxRequests = Math.Min(o.Long("max-requests", 2_000_000), HardMaxRequests);
        var expect = o.Int("expect", method == "POST" ? 201 : 200).ToString(CultureInfo.InvariantCulture);
        var snapshotCommand = o.Optional("snapshot-cmd");
        var settle = TimeSpan.FromSeconds(o.Double("settle", 1.5));
        if (duration > TimeSpan.FromMinutes(5) || warmup > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException("duration is capped at 300 s and warm-up at 60 s");
        }

        var mix = TenantMix.From(o);
        using var http = Client(o, concurrency, withToken: mix is null);
        // Without a warm-up no request goes out before the measured window (--pick once must not lose tenants to it).
        var phase = warmup > TimeSpan.Zero ? Phase.WarmUp : Phase.Paused;
        var issued = 0L;
        var inFlight = 0L;
        var sequence = 0L;
        var latencies = new List<long>[concurrency];
        // With --tenants, also per operation of the mix: [operation][worker].
        var byOperation = TenantMix.OperationNames.Select(_ => new List<long>[concurrency]).ToArray();
        var failuresByOperation = new long[byOperation.Length];
        var statuses = new ConcurrentDictionary<string, long>();
        var failures = 0L;
        var runId = Guid.NewGuid().ToString("N")[..8];

        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = new List<long>(4096);
            var mineByOperation = byOperation.Select(l => l[w] = new List<long>(mix is null ? 0 : 4096)).ToArray();
            var random = new Random(w);
            while (true)
            {
                var current = (Phase)Volatile.Read(ref Unsafe.As<Phase, int>(ref phase));
                if (current == Phase.Paused)
                {
                    await Task.Delay(5);
                    continue;
                }

                if (current == Phase.Stopping || Interlocked.Increment(ref issued) > maxRequests)
                {
                    return;
                }

                var pick = mix?.Next(random);
                if (mix is not null && pick is null)
                {
                    return; // --pick once: every tenant has had its request
                }

                Interlocked.Increment(ref inFlight);
                var measured = current == Phase.Measuring;
                var t0 = Stopwatch.GetTimestamp();
                string outcome;
                try
                {
                    using var request = pick is { } p ? new HttpRequestMessage(p.Method, p.Path) : new HttpRequestMessage(new HttpMethod(method), path);
                    request.Headers.Authorization = pick?.Auth;
                    if (request.Method == HttpMethod.Post)
                    {
                        request.Content = Json(CreateBody(Interlocked.Increment(ref sequence), runId));
                    }

                    using var response = await http.SendAsync(request);
                    await response.Content.LoadIntoBufferAsync();
                    outcome = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    outcome = e.GetType().Name;
                }
                finally
                {
                    Interlocked.Decrement(ref inFlight);
                }

                var elapsed = Stopwatch.GetTimestamp() - t0;
                if (measured)
                {
                    mine.Add(elapsed);
                    if (pick is { } picked)
                    {
                        mineByOperation[picked.Operation].Add(elapsed);
                    }

                    statuses.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                    if (outcome != (pick?.Expect ?? expect))
                    {
                        if (pick is { } failed)
                        {
                            Interlocked.Increment(ref failuresByOperation[failed.Operation]);
                        }

                        Interlocked.Increment(ref failures);
                    }
                }
            }
        })).ToArray();

        void Set(Phase next) => Volatile.Write(ref Unsafe.As<Phase, int>(ref phase), (int)next);

        await Task.Delay(warmup);
        var warmupSent = Interlocked.Read(ref issued);
        Counters? before = null;
        if (snapshotCommand is not null)
        {
            Set(Phase.Paused);
            while (Interlocked.Read(ref inFlight) > 0)
            {
                await Task.Delay(5);
            }

            await Task.Delay(settle);
            before = await Counters.ReadAsync(snapshotCommand);
        }

        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var measureStart = Stopwatch.GetTimestamp();
        Set(Phase.Measuring);
        await Task.WhenAny(Task.WhenAll(workers), Task.Delay(duration));
        Set(Phase.Stopping);
        await Task.WhenAll(workers);
        var window = Stopwatch.GetElapsedTime(measureStart);
        var loadGenCpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

        var stats = LatencyStats.From(latencies, window);
        var total = Math.Min(Interlocked.Read(ref issued), maxRequests);
        var codes = string.Join(", ", statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}×{s.Value}"));
        Console.WriteLine(Inv(
            $"{name}: c={concurrency} {stats.Count:N0} req in {window.TotalSeconds:F1} s = {stats.Rps:F0} req/s; p50 {stats.P50:F2} ms, p90 {stats.P90:F2} ms, p99 {stats.P99:F2} ms, p99.9 {stats.P999:F2} ms, max {stats.Max:F2} ms; errors {failures} [{codes}]; sent incl. warm-up {total:N0} (warm-up {warmupSent:N0})"));

        var operationRows = new List<string>();
        for (var op = 0; mix is not null && op < byOperation.Length; op++)
        {
            var opStats = LatencyStats.From(byOperation[op], window);
            if (opStats.Count == 0)
            {
                continue;
            }

            Console.WriteLine(Inv(
                $"  {TenantMix.OperationNames[op]}: {opStats.Count:N0} req = {opStats.Rps:F0} req/s; p50 {opStats.P50:F2} ms, p99 {opStats.P99:F2} ms, p99.9 {opStats.P999:F2} ms, max {opStats.Max:F2} ms; errors {failuresByOperation[op]}"));
            operationRows.Add(opStats.Row($"{name} {TenantMix.OperationNames[op]}", concurrency, failuresByOperation[op]) + Inv($" – | – | – | – | {opStats.P999:F2} |"));
        }

        var extra = Inv($" – | – | – / – / {loadGenCpu.TotalMilliseconds / Math.Max(1, stats.Count):F2} | – |");
        if (before is not null)
        {
            var atEnd = await Counters.ReadAsync(snapshotCommand!);     // CPU: right at the end of the window
            await Task.Delay(settle);
            var after = await Counters.ReadAsync(snapshotCommand!);     // database statistics: once flushed
            var n = (double)Math.Max(1, stats.Count);
            double Per(Counters end, string key) => (end.Get(key) - before.Get(key)) / n;
            double Delta(Counters end, string key) => end.Get(key) - before.Get(key);
            Console.WriteLine(Inv(
                $"  per request: {Per(after, "stmts"):F3} SQL statements ({Per(after, "res_stmts"):F3} on `resources`) by pg_stat_statements; CPU ms: silo {Per(atEnd, "silo_cpu_ms"):F3}, PostgreSQL {Per(atEnd, "pg_cpu_ms"):F3}, load generator {loadGenCpu.TotalMilliseconds / n:F3}"));
            Console.WriteLine(Inv(
                $"  window totals: {Delta(after, "stmts"):F0} SQL statements ({Delta(after, "res_stmts"):F0} on `resources`); CPU s: silo {Delta(atEnd, "silo_cpu_ms") / 1000:F1}, PostgreSQL {Delta(atEnd, "pg_cpu_ms") / 1000:F1}, load generator {loadGenCpu.TotalSeconds:F1}, whole machine {Delta(atEnd, "busy_cpu_ms") / 1000:F1} (of {Environment.ProcessorCount * window.TotalSeconds:F1} available) over {window.TotalSeconds:F1} s wall"));
            if (settle >= TimeSpan.FromSeconds(11))
            {
                // Only meaningful once every backend has flushed (see stats-snapshot.sh), hence the long settle.
                Console.WriteLine(Inv(
                    $"  pg_stat (settled {settle.TotalSeconds:F0} s): database +{Delta(after, "xacts"):F0} transactions, +{Delta(after, "tup_returned"):F0} tuples returned, +{Delta(after, "tup_fetched"):F0} fetched; table `resources` +{Delta(after, "res_scans"):F0} scans (seq + idx), +{Delta(after, "res_rows"):F0} rows read"));
            }

            // CPU the machine spent on anything but the silo, PostgreSQL and this process, in cores: other sessions' work.
            var others = (Delta(atEnd, "busy_cpu_ms") - Delta(atEnd, "silo_cpu_ms") - Delta(atEnd, "pg_cpu_ms") - loadGenCpu.TotalMilliseconds)
                / window.TotalMilliseconds;
            Console.WriteLine(Inv($"  other processes on the machine: {others:F2} cores on average during the window"));
            if (atEnd.Keys.Except(Counters.Standard).ToList() is { Count: > 0 } more)
            {
                // Counters of the snapshot command beyond the standard ones (bench/run-tenants.sh: the silo's metrics).
                Console.WriteLine("  more counters, change over the window (value at its end): "
                    + string.Join(", ", more.Select(k => Inv($"{k} {Delta(atEnd, k):+0;-0;0} ({atEnd.Get(k):F0})"))));
            }

            extra = Inv($" {Per(after, "stmts"):F2} | {Per(after, "res_stmts"):F2} | {Per(atEnd, "silo_cpu_ms"):F2} / {Per(atEnd, "pg_cpu_ms"):F2} / {loadGenCpu.TotalMilliseconds / n:F2} | {Math.Max(0, others):F2} |");
        }

        var results = o.Optional("results");
        if (results is not null)
        {
            // p99.9 goes last so the columns the scripts already read keep their places.
            File.AppendAllText(results, stats.Row(name, concurrency, failures) + extra + Inv($" {stats.P999:F2} |") + "\n"
                + string.Concat(operationRows.Select(row => row + "\n")));
        }

        return stats.Count > 0 && failures == 0 ? 0 : 1;
    }

    /// <summary>The snapshot command's counters over an idle window: the background the benchmarks sit on.</summary>
    private static async Task<int> IdleAsync(Options o)
    {
        var command = o.Required("snapshot-cmd");
        var duration = TimeSpan.FromSeconds(o.Double("duration", 10));
        var settle = TimeSpan.FromSeconds(o.Double("settle", 1.5));
        await Task.Delay(settle);
        var before = await Counters.ReadAsync(command);
        await Task.Delay(duration);
        var atEnd = await Counters.ReadAsync(command);
        await Task.Delay(settle);
        var after = await Counters.ReadAsync(command);
        Console.WriteLine(Inv(
            $"idle {duration.TotalSeconds:F0} s (no requests; background of the silo): {after.Get("stmts") - before.Get("stmts"):F0} SQL statements ({after.Get("res_stmts") - before.Get("res_stmts"):F0} on `resources`); pg_stat (settled {settle.TotalSeconds:F0} s): +{after.Get("xacts") - before.Get("xacts"):F0} transactions, +{after.Get("res_scans") - before.Get("res_scans"):F0} scans of `resources`; CPU ms: silo {atEnd.Get("silo_cpu_ms") - before.Get("silo_cpu_ms"):F0}, PostgreSQL {atEnd.Get("pg_cpu_ms") - before.Get("pg_cpu_ms"):F0}, whole machine {atEnd.Get("busy_cpu_ms") - before.Get("busy_cpu_ms"):F0}"));
        return 0;
    }

    private static async Task<int> CursorAtAsync(Options o)
    {
        var page = o.Int("page", 1000);
        var perPage = o.Int("per-page", 20);
        using var http = Client(o, 1, withToken: true);
        var before = await GetPageAsync(http, $"/v1/resources?page={page - 1}&per_page={perPage}");
        var cursor = before.NextCursor ?? throw new InvalidOperationException($"page {page - 1} has no next_cursor");
        var viaCursor = await GetPageAsync(http, $"/v1/resources?cursor={Uri.EscapeDataString(cursor)}&per_page={perPage}");
        var viaOffset = await GetPageAsync(http, $"/v1/resources?page={page}&per_page={perPage}");
        if (viaCursor.Ids.Count != perPage || !viaCursor.Ids.SequenceEqual(viaOffset.Ids))
        {
            Console.Error.WriteLine($"cursor-at: page {page} by cursor [{string.Join(",", viaCursor.Ids)}] differs from page {page} by offset [{string.Join(",", viaOffset.Ids)}]");
            return 1;
        }

        Console.Error.WriteLine($"cursor-at: page {page}: cursor and offset modes return the same {perPage} ids (first {viaCursor.Ids[0]}); total {viaOffset.Total:N0}");
        Console.WriteLine(cursor);
        return 0;
    }

    private static async Task<int> WalkAsync(Options o)
    {
        var pages = o.Int("pages", 1000);
        var perPage = o.Int("per-page", 20);
        using var http = Client(o, 1, withToken: true);
        var latencies = new List<long>(pages);
        var start = Stopwatch.GetTimestamp();
        string? cursor = null;
        Page current = default;
        for (var p = 1; p <= pages; p++)
        {
            var path = cursor is null
                ? $"/v1/resources?per_page={perPage}"
                : $"/v1/resources?cursor={Uri.EscapeDataString(cursor)}&per_page={perPage}";
            var t0 = Stopwatch.GetTimestamp();
            current = await GetPageAsync(http, path);
            latencies.Add(Stopwatch.GetTimestamp() - t0);
            if (p < pages)
            {
                cursor = current.NextCursor ?? throw new InvalidOperationException($"page {p} has no next_cursor");
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(start);
        var stats = LatencyStats.From([latencies], elapsed);
        var viaOffset = await GetPageAsync(http, $"/v1/resources?page={pages}&per_page={perPage}");
        var same = current.Ids.SequenceEqual(viaOffset.Ids);
        Console.Error.WriteLine(Inv(
            $"walk: {pages} pages by cursor in {elapsed.TotalSeconds:F1} s; per page p50 {stats.P50:F2} ms, p99 {stats.P99:F2} ms, max {stats.Max:F2} ms; last page {(same ? "equals" : "DIFFERS FROM")} offset page {pages}"));
        var results = o.Optional("results");
        if (results is not null)
        {
            File.AppendAllText(results, stats.Row($"walk pages 1→{pages} by next_cursor (sequential)", 1, same ? 0 : 1) + " – | – | – | – |\n");
        }

        Console.WriteLine(cursor);
        return same ? 0 : 1;
    }

    // ------------------------------------------------------------------ helpers

    private static HttpClient Client(Options o, int connections, bool withToken)
    {
        var baseUrl = new Uri(o.Required("base-url"));
        if (!baseUrl.IsLoopback)
        {
            throw new ArgumentException($"--base-url must be a loopback address, not {baseUrl.Host}");
        }

        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        var http = new HttpClient(handler) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
        if (withToken)
        {
            var token = o.Optional("token") ?? Environment.GetEnvironmentVariable("BENCH_TOKEN")
                ?? throw new ArgumentException("--token or BENCH_TOKEN is required");
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static readonly string[] Types = ["standard", "document", "dataset", "model"];
    private static readonly string[] Statuses = ["active", "active", "active", "inactive", "archived"];

    private static string CreateBody(long i, string run = "seed") => JsonSerializer.Serialize(new
    {
        name = Inv($"{run}-{i:D7}"),
        description = Inv($"benchmark resource {i}"),
        type = Types[i % Types.Length],
        status = Statuses[i % Statuses.Length],
        metadata = new { seq = i, tags = new[] { "bench", run }, owner = new { team = "perf" } },
    });

    private static async Task<Page> GetPageAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {text}");
        }

        using var doc = JsonDocument.Parse(text);
        var meta = doc.RootElement.GetProperty("meta");
        var ids = doc.RootElement.GetProperty("data").EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToList();
        var next = meta.TryGetProperty("next_cursor", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        return new Page(ids, meta.GetProperty("total").GetInt64(), next);
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private readonly record struct Page(IReadOnlyList<string> Ids, long Total, string? NextCursor);
}

internal enum Phase
{
    WarmUp,
    Paused,
    Measuring,
    Stopping,
}

/// <summary>Counters printed by a snapshot command as <c>key=value</c> pairs separated by white space.</summary>
internal sealed class Counters(Dictionary<string, double> values)
{
    /// <summary>The keys bench/stats-snapshot.sh and bench/compare/snapshot.sh print, which <c>run</c> reports by name.</summary>
    public static readonly IReadOnlySet<string> Standard = new HashSet<string>(StringComparer.Ordinal)
    {
        "stmts", "res_stmts", "xacts", "tup_returned", "tup_fetched", "res_scans", "res_rows", "silo_cpu_ms", "pg_cpu_ms", "busy_cpu_ms",
    };

    public IEnumerable<string> Keys => values.Keys;

    public double Get(string key) => values.TryGetValue(key, out var value) ? value : double.NaN;

    public static async Task<Counters> ReadAsync(string command)
    {
        using var process = Process.Start(new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"could not start {command}");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} exited with {process.ExitCode}");
        }

        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var pair in output.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && double.TryParse(pair[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                values[pair[..eq]] = value;
            }
        }

        return new Counters(values);
    }
}

/// <summary>Percentiles (nearest rank) over every measured request, in milliseconds.</summary>
internal sealed record LatencyStats(long Count, double Rps, double P50, double P90, double P99, double P999, double Max)
{
    public static LatencyStats From(IEnumerable<List<long>?> perWorker, TimeSpan window)
    {
        var all = perWorker.Where(l => l is not null).SelectMany(l => l!).ToArray();
        Array.Sort(all);
        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        double Pct(double p) => all.Length == 0 ? double.NaN : Ms(all[Math.Clamp((int)Math.Ceiling(p / 100 * all.Length) - 1, 0, all.Length - 1)]);
        return new LatencyStats(all.Length, all.Length / window.TotalSeconds, Pct(50), Pct(90), Pct(99), Pct(99.9), all.Length == 0 ? double.NaN : Ms(all[^1]));
    }

    /// <summary>A markdown table row: benchmark, clients, requests, errors, req/s, p50, p90, p99, max.</summary>
    public string Row(string name, int concurrency, long errors) => string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {concurrency} | {Count:N0} | {errors} | {Rps:F0} | {P50:F2} | {P90:F2} | {P99:F2} | {Max:F2} |");
}

/// <summary><c>--name value</c> pairs.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Options Parse(string[] args)
    {
        var options = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected '--name value', got '{args[i]}'");
            }

            options._values[args[i][2..]] = args[++i];
        }

        return options;
    }

    public string? Optional(string name) => _values.GetValueOrDefault(name);

    public string Required(string name) => Optional(name) ?? throw new ArgumentException($"--{name} is required");

    public int Int(string name, int fallback) => (int)Long(name, fallback);

    public long Long(string name, long fallback) =>
        Optional(name) is { } text ? long.Parse(text, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) =>
        Optional(name) is { } text ? double.Parse(text, CultureInfo.InvariantCulture) : fallback;
}
