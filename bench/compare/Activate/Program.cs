using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

// Usage: Activate BASE_URL IDS_FILE [CONCURRENCY=32] [MAX_SECONDS=180]; the credential comes from env BENCH_TOKEN.
// GETs /v1/resources/{id} once for every id in the file, CONCURRENCY at a time, and stops at MAX_SECONDS whatever is
// left. Prints "ok=N failed=N skipped=N seconds=S rps=R"; exit 0 only when every id answered 200.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Activate BASE_URL IDS_FILE [CONCURRENCY] [MAX_SECONDS]");
    return 2;
}

var baseUrl = new Uri(args[0]);
if (!baseUrl.IsLoopback)
{
    Console.Error.WriteLine("Activate: loopback only");
    return 2;
}

var ids = File.ReadAllLines(args[1]).Where(l => l.Length > 0).ToArray();
var concurrency = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 32;
var maxSeconds = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 180;
var token = Environment.GetEnvironmentVariable("BENCH_TOKEN") ?? throw new InvalidOperationException("BENCH_TOKEN is required");
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, UseProxy = false, UseCookies = false })
{
    BaseAddress = baseUrl,
    Timeout = TimeSpan.FromSeconds(30),
};
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

var next = -1;
long ok = 0, failed = 0;
var started = Stopwatch.StartNew();
var deadline = TimeSpan.FromSeconds(maxSeconds);
var lastProgress = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
{
    int i;
    while (started.Elapsed < deadline && (i = Interlocked.Increment(ref next)) < ids.Length)
    {
        try
        {
            using var response = await http.GetAsync("/v1/resources/" + ids[i]);
            await response.Content.LoadIntoBufferAsync();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Interlocked.Increment(ref ok);
            }
            else if (Interlocked.Increment(ref failed) <= 3)
            {
                Console.Error.WriteLine($"Activate: {ids[i]}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Interlocked.Increment(ref failed);
        }

        if (w == 0 && lastProgress.Elapsed.TotalSeconds >= 15)
        {
            lastProgress.Restart();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Activate: {Interlocked.Read(ref ok):N0}/{ids.Length:N0} after {started.Elapsed.TotalSeconds:F0} s"));
        }
    }
})));
var seconds = started.Elapsed.TotalSeconds;
var skipped = ids.Length - ok - failed;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ok={ok} failed={failed} skipped={skipped} seconds={seconds:F1} rps={ok / seconds:F0}"));
return failed == 0 && skipped == 0 ? 0 : 1;
