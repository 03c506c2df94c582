using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace EventsLoad;

/// <summary>
/// Measures the event path from outside, over real HTTP (bench/run-events.sh drives it). Commands:
/// <list type="bullet">
/// <item><c>webhooks --base-urls U1[,U2…] --tenants N --rate R --duration S [--warmup W]</c>: registers N tenants, gives
///   each a webhook to a receiver in this process, runs the load for W seconds (default 10) unmeasured, then creates
///   resources open-loop at R per second for S seconds (round robin over tenants and silos) and measures, per resource,
///   from sending its create to receiving its webhook.</item>
/// <item><c>sse --base-urls U1[,U2…] --tenants N --subscribers M --rate R --duration S [--warmup W]</c>: registers N
///   tenants, opens M event streams spread over tenants and silos, then creates resources at R per second and
///   measures, per event and subscriber, from sending the create to receiving the event; prints READY when all streams
///   are open and waits for a line on stdin before creating (so the caller can read memory with the streams open).
///   With W > 0 (default 0) the same load runs W seconds first, unmeasured, and MEASURING is printed (stderr) when
///   the measured creates begin.</item>
/// </list>
/// Latencies include the create request itself: the commit is inside it. Each run prints one result line that starts
/// with RESULT and key=value pairs.
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: EventsLoad webhooks|sse --base-urls URL[,URL] [options]");
            return 2;
        }

        var o = Options.Parse(args[1..]);
        return args[0] switch
        {
            "webhooks" => await WebhooksAsync(o),
            "sse" => await SseAsync(o),
            _ => 2,
        };
    }

    // ------------------------------------------------------------------ webhooks

    private static async Task<int> WebhooksAsync(Options o)
    {
        var urls = o.Urls;
        var tenants = o.Int("tenants", 10);
        var rate = o.Int("rate", 500);
        var duration = TimeSpan.FromSeconds(o.Int("duration", 20));
        var drain = TimeSpan.FromSeconds(o.Int("drain", 30));
        using var http = Client(urls.Count * 128);

        using var receiver = new Receiver();
        var tokens = await RegisterAsync(http, urls[0], tenants);
        for (var i = 0; i < tokens.Count && o.Int("webhooks", 1) == 1; i++)
        {
            var body = Json(new { url = receiver.Url, events = new[] { "resource.created" } });
            using var response = await SendAsync(http, HttpMethod.Post, urls[i % urls.Count] + "/v1/webhooks", tokens[i], body);
            Ensure(response, HttpStatusCode.Created, "creating a webhook");
        }

        // The warm-up runs the same load first (JIT tiers, connection pools, activations), waits for its deliveries,
        // and is then forgotten; MEASURING on stderr marks the start of the measured window for the caller.
        var warmup = TimeSpan.FromSeconds(o.Int("warmup", 10));
        if (warmup > TimeSpan.Zero)
        {
            Console.Error.WriteLine($"warm-up: {rate} creates/s for {warmup.TotalSeconds:0} s");
            var (warmed, _, _) = await OpenLoopAsync(http, urls, tokens, rate, warmup, (_, _) => { });
            await DrainAsync(receiver, warmed, drain);
            receiver.Clear();
        }

        Console.Error.WriteLine($"MEASURING {tenants} tenants with a webhook each; receiver {receiver.Url}; {rate} creates/s for {duration.TotalSeconds:0} s");
        var sent = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var answered = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var (created, errors, achieved) = await OpenLoopAsync(http, urls, tokens, rate, duration, (name, at) => sent[name] = at,
            (name, at) => answered[name] = at);

        // Wait for the stragglers (bounded), then match receipts to sends.
        await DrainAsync(receiver, created, drain);

        var latencies = new List<double>();
        var receipts = receiver.Receipts;
        foreach (var (name, at) in receipts)
        {
            if (sent.TryGetValue(name, out var start))
            {
                latencies.Add(Ms(at - start));
            }
        }

        var span = receipts.Count > 1 ? Ms(receipts.Max(r => r.At) - receipts.Min(r => r.At)) / 1000 : 0;
        var stats = Stats(latencies);
        // The create's own response time: the part of the delivery latency spent before the request returned.
        var createStats = Stats([.. answered.Where(a => sent.ContainsKey(a.Key)).Select(a => Ms(a.Value - sent[a.Key]))]);
        Console.WriteLine(Inv($"RESULT creates={created} create_errors={errors} creates_per_s={achieved:0.0} delivered={latencies.Count} duplicates={receiver.Duplicates} missing={created - latencies.Count} deliveries_per_s={(span > 0 ? latencies.Count / span : 0):0.0} p50_ms={stats.P50:0.0} p90_ms={stats.P90:0.0} p99_ms={stats.P99:0.0} max_ms={stats.Max:0.0} create_p50_ms={createStats.P50:0.0} create_p99_ms={createStats.P99:0.0}"));
        return errors == 0 && latencies.Count == created ? 0 : 1;
    }

    private static async Task DrainAsync(Receiver receiver, int expected, TimeSpan limit)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (receiver.Count < expected && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(100);
        }
    }

    // ------------------------------------------------------------------ SSE

    private static async Task<int> SseAsync(Options o)
    {
        var urls = o.Urls;
        var tenants = o.Int("tenants", 100);
        var subscribers = o.Int("subscribers", 1000);
        var rate = o.Int("rate", 50);
        var duration = TimeSpan.FromSeconds(o.Int("duration", 20));
        var drain = TimeSpan.FromSeconds(o.Int("drain", 20));
        using var http = Client(urls.Count * 64);
        // One connection per stream: each SSE response holds its connection for as long as it lasts.
        using var streams = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = subscribers + 16, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

        var tokens = await RegisterAsync(http, urls[0], tenants);
        var sent = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var latencies = new ConcurrentBag<double>();
        // --samples FILE: one line per receipt (create, stream, times), to see which events make the tail.
        var samplesPath = o.Text("samples");
        var receipts = samplesPath is null ? null : new ConcurrentBag<(string Name, int Stream, long At)>();
        var received = 0L;
        var warmReceived = 0L;
        var warmup = TimeSpan.FromSeconds(o.Int("warmup", 0));
        using var stop = new CancellationTokenSource();
        var open = 0;
        var readers = new List<Task>();
        for (var s = 0; s < subscribers; s++)
        {
            var token = tokens[s % tenants];
            var url = urls[s % urls.Count];
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var index = s;
            readers.Add(Task.Run(() => ReadStreamAsync(streams, url, token, ready, sent, latencies, (name, at) =>
            {
                // Events of the warm-up are not in `sent`: counted apart, so the measured count starts at zero.
                var measured = name is null || sent.ContainsKey(name);
                if (!measured)
                {
                    Interlocked.Increment(ref warmReceived);
                    return;
                }

                Interlocked.Increment(ref received);
                if (name is not null)
                {
                    receipts?.Add((name, index, at));
                }
            }, stop.Token)));
            await ready.Task;
            open++;
        }

        Console.WriteLine($"READY streams={open}");
        Console.Out.Flush();
        await Console.In.ReadLineAsync();

        if (warmup > TimeSpan.Zero)
        {
            Console.Error.WriteLine($"warm-up: {rate} creates/s for {warmup.TotalSeconds:0} s");
            var (warmed, _, _) = await OpenLoopAsync(http, urls, tokens, rate, warmup, (_, _) => { });
            var warmExpected = (long)warmed * subscribers / tenants;
            var warmDeadline = Stopwatch.GetTimestamp() + (long)(drain.TotalSeconds * Stopwatch.Frequency);
            while (Interlocked.Read(ref warmReceived) < warmExpected && Stopwatch.GetTimestamp() < warmDeadline)
            {
                await Task.Delay(100);
            }

            Console.Error.WriteLine("MEASURING");
        }

        var responded = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var loadStart = Stopwatch.GetTimestamp();
        var (created, errors, achieved) = await OpenLoopAsync(http, urls, tokens, rate, duration, (name, at) => sent[name] = at,
            (name, at) => responded[name] = at);
        // Every create reaches every subscriber of its tenant.
        var expected = (long)created * subscribers / tenants;
        var deadline = Stopwatch.GetTimestamp() + (long)(drain.TotalSeconds * Stopwatch.Frequency);
        while (Interlocked.Read(ref received) < expected && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(100);
        }

        await stop.CancelAsync();
        if (samplesPath is not null && receipts is not null)
        {
            WriteSamples(samplesPath, receipts, sent, responded, loadStart, urls.Count, tenants);
        }

        var stats = Stats([.. latencies]);
        Console.WriteLine(Inv($"RESULT streams={open} creates={created} create_errors={errors} creates_per_s={achieved:0.0} expected={expected} received={Interlocked.Read(ref received)} p50_ms={stats.P50:0.0} p90_ms={stats.P90:0.0} p99_ms={stats.P99:0.0} max_ms={stats.Max:0.0}"));
        return errors == 0 && Interlocked.Read(ref received) == expected ? 0 : 1;
    }

    private static async Task ReadStreamAsync(HttpClient http, string baseUrl, string token, TaskCompletionSource ready,
        ConcurrentDictionary<string, long> sent, ConcurrentBag<double> latencies, Action<string?, long> counted, CancellationToken stop)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, baseUrl + "/v1/events/stream");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
            Ensure(response, HttpStatusCode.OK, "opening an event stream");
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop), Encoding.UTF8);
            while (await reader.ReadLineAsync(stop) is { } line)
            {
                if (line.StartsWith(':'))
                {
                    ready.TrySetResult();
                    continue;
                }

                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    var at = Stopwatch.GetTimestamp();
                    var name = NameOf(line.AsSpan(6));
                    if (name is not null && sent.TryGetValue(name, out var start))
                    {
                        latencies.Add(Ms(at - start));
                    }

                    counted(name, at);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            ready.TrySetException(e);
            Console.Error.WriteLine($"stream failed: {e.Message}");
        }
    }

    // ------------------------------------------------------------------ shared

    /// <summary>Creates resources at <paramref name="rate"/> per second for the duration, round robin over tenants and silos.</summary>
    private static async Task<(int Created, int Errors, double Achieved)> OpenLoopAsync(HttpClient http, IReadOnlyList<string> urls,
        IReadOnlyList<string> tokens, int rate, TimeSpan duration, Action<string, long> sending, Action<string, long>? responded = null)
    {
        var total = (int)(rate * duration.TotalSeconds);
        var created = 0;
        var errors = 0;
        var inFlight = new SemaphoreSlim(512);
        var tasks = new List<Task>(total);
        var run = Guid.NewGuid().ToString("N")[..6];
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < total; i++)
        {
            var due = start + (long)(i * Stopwatch.Frequency / (double)rate);
            var wait = due - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
            }

            await inFlight.WaitAsync();
            var n = i;
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    var name = $"ev-{run}-{n}";
                    sending(name, Stopwatch.GetTimestamp());
                    using var response = await SendAsync(http, HttpMethod.Post, urls[n % urls.Count] + "/v1/resources", tokens[n % tokens.Count],
                        Json(new { name }));
                    responded?.Invoke(name, Stopwatch.GetTimestamp());
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        Interlocked.Increment(ref created);
                    }
                    else
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref errors);
                }
                finally
                {
                    inFlight.Release();
                }
            }));
        }

        await Task.WhenAll(tasks);
        var seconds = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
        return (created, errors, created / seconds);
    }

    /// <summary>
    /// Writes one CSV line per receipt: the create's number, tenant and silo, the stream's number and silo, and the
    /// times (ms after the first create) it was sent, answered and received.
    /// </summary>
    private static void WriteSamples(string path, IEnumerable<(string Name, int Stream, long At)> receipts, IReadOnlyDictionary<string, long> sent,
        IReadOnlyDictionary<string, long> responded, long start, int silos, int tenants)
    {
        using var file = new StreamWriter(path);
        file.WriteLine("create,tenant,create_silo,stream,stream_silo,sent_ms,responded_ms,received_ms");
        foreach (var (name, stream, at) in receipts)
        {
            if (!sent.TryGetValue(name, out var s) || !responded.TryGetValue(name, out var r))
            {
                continue;
            }

            var n = int.Parse(name[(name.LastIndexOf('-') + 1)..], CultureInfo.InvariantCulture);
            file.WriteLine(Inv($"{n},{n % tenants},{n % silos},{stream},{stream % silos},{Ms(s - start):0.0},{Ms(r - start):0.0},{Ms(at - start):0.0}"));
        }
    }

    private static async Task<List<string>> RegisterAsync(HttpClient http, string baseUrl, int count)
    {
        var tokens = new string[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var name = "ev" + Guid.NewGuid().ToString("N")[..12];
            using var response = await SendAsync(http, HttpMethod.Post, baseUrl + "/v1/auth/register", null,
                Json(new { email = name + "@bench.example", username = name, password = "bench-password-123" }));
            Ensure(response, HttpStatusCode.Created, "registering");
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            tokens[i] = doc.RootElement.GetProperty("access_token").GetString()!;
        });
        return [.. tokens];
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string url, string? token, HttpContent? body = null)
    {
        var request = new HttpRequestMessage(method, url) { Content = body };
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }

        return await http.SendAsync(request);
    }

    private static void Ensure(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {response.Content.ReadAsStringAsync().Result}");
        }
    }

    private static HttpClient Client(int connections) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            Timeout = TimeSpan.FromSeconds(60),
        };

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    /// <summary>The resource's name (<c>ev-…</c>) from an event body, without parsing all of it.</summary>
    internal static string? NameOf(ReadOnlySpan<char> body)
    {
        var at = body.IndexOf("\"name\":\"ev-", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var rest = body[(at + 8)..];
        var end = rest.IndexOf('"');
        return end < 0 ? null : rest[..end].ToString();
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static (double P50, double P90, double P99, double Max) Stats(List<double> values)
    {
        if (values.Count == 0)
        {
            return (0, 0, 0, 0);
        }

        values.Sort();
        double At(double q) => values[Math.Min(values.Count - 1, (int)Math.Ceiling(q * values.Count) - 1)];
        return (At(0.50), At(0.90), At(0.99), values[^1]);
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A webhook endpoint in this process: records when each resource's delivery arrived (first arrival).</summary>
internal sealed class Receiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _receipts = new(StringComparer.Ordinal);
    private long _duplicates;

    public Receiver()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = $"http://127.0.0.1:{port}/hook";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        // As many accepts outstanding as the silo can have attempts in flight (10 endpoints x 4, and more): with fewer, the
        // silo's POSTs would queue in the receiver and the measurement would count the receiver's own backlog.
        for (var i = 0; i < 64; i++)
        {
            _ = Task.Run(ServeAsync);
        }
    }

    public string Url { get; }

    public int Count => _receipts.Count;

    public void Clear()
    {
        _receipts.Clear();
        Interlocked.Exchange(ref _duplicates, 0);
    }

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public List<(string Name, long At)> Receipts => _receipts.Select(r => (r.Key, r.Value)).ToList();

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var at = Stopwatch.GetTimestamp();
            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
            {
                var body = await reader.ReadToEndAsync();
                if (Program.NameOf(body) is { } name && !_receipts.TryAdd(name, at))
                {
                    Interlocked.Increment(ref _duplicates);
                }
            }

            context.Response.StatusCode = 204;
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
    }
}

internal sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Urls => Required("base-urls").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(u => u.TrimEnd('/')).ToList();

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            o._values[args[i].TrimStart('-')] = args[i + 1];
        }

        return o;
    }

    public string Required(string name) => _values.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required");

    public string? Text(string name) => _values.GetValueOrDefault(name);

    public int Int(string name, int fallback) => _values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
