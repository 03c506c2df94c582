using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

// Usage: Activate BASE_URL IDS_FILE [CONCURRENCY=32] [MAX_SECONDS=180] [RATE=0]; the credential comes from env BENCH_TOKEN.
// GETs /v1/resources/{id} once for every id in the file (read as it goes, so a file of millions of ids costs no
// memory), CONCURRENCY at a time, and stops at MAX_SECONDS whatever is left. RATE > 0 paces the requests: the i-th
// starts no earlier than i / RATE seconds after the first (a steady rate; when the service falls behind, the requests
// go as fast as CONCURRENCY allows until they are on schedule again). Prints
// "ok=N failed=N skipped=N seconds=S rps=R"; exit 0 only when every id answered 200.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Activate BASE_URL IDS_FILE [CONCURRENCY] [MAX_SECONDS] [RATE]");
    return 2;
}

var baseUrl = new Uri(args[0]);
if (!baseUrl.IsLoopback)
{
    Console.Error.WriteLine("Activate: loopback only");
    return 2;
}

using var ids = new StreamReader(args[1]);
var concurrency = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 32;
var maxSeconds = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 180;
var rate = args.Length > 4 ? double.Parse(args[4], CultureInfo.InvariantCulture) : 0;
var token = Environment.GetEnvironmentVariable("BENCH_TOKEN") ?? throw new InvalidOperationException("BENCH_TOKEN is required");
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, UseProxy = false, UseCookies = false })
{
    BaseAddress = baseUrl,
    Timeout = TimeSpan.FromSeconds(30),
};
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

long taken = 0, ok = 0, failed = 0;
var started = Stopwatch.StartNew();
var deadline = TimeSpan.FromSeconds(maxSeconds);
var lastProgress = Stopwatch.StartNew();

// The next id and its place in the file (for the pacing); null at the end of the file.
(string Id, long Index)? Next()
{
    lock (ids)
    {
        string? line;
        while ((line = ids.ReadLine()) is { Length: 0 })
        {
        }

        return line is null ? null : (line, taken++);
    }
}

await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
{
    while (started.Elapsed < deadline && Next() is var (id, index))
    {
        if (rate > 0 && TimeSpan.FromSeconds(index / rate) - started.Elapsed is { Ticks: > 0 } early)
        {
            await Task.Delay(early);
        }

        try
        {
            using var response = await http.GetAsync("/v1/resources/" + id);
            await response.Content.LoadIntoBufferAsync();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Interlocked.Increment(ref ok);
            }
            else if (Interlocked.Increment(ref failed) <= 3)
            {
                Console.Error.WriteLine($"Activate: {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Interlocked.Increment(ref failed);
        }

        if (w == 0 && lastProgress.Elapsed.TotalSeconds >= 15)
        {
            lastProgress.Restart();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Activate: {Interlocked.Read(ref ok):N0} answered after {started.Elapsed.TotalSeconds:F0} s"));
        }
    }
})));
var seconds = started.Elapsed.TotalSeconds;
var rest = 0L;
while (ids.ReadLine() is { } line)
{
    rest += line.Length > 0 ? 1 : 0;
}

var skipped = taken - ok - failed + rest;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ok={ok} failed={failed} skipped={skipped} seconds={seconds:F1} rps={ok / seconds:F0}"));
return failed == 0 && skipped == 0 ? 0 : 1;
