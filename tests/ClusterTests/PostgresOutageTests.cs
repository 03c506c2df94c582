using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Npgsql;

namespace ApiPlatform.ClusterTests;

/// <summary>
/// A three-silo cluster with the shipped failure detection on a PostgreSQL server of its OWN (a throwaway instance
/// from scripts/postgres.sh in a temp directory), so that the test can stop the database without touching the shared
/// server the other cluster tests use.
/// </summary>
public sealed class PostgresOutageCluster : ShippedSettingsCluster
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "pg-outage-" + Guid.NewGuid().ToString("N")[..8]);
    private string? _server;

    protected override string? Server => _server;

    public override async ValueTask InitializeAsync()
    {
        // Runs where the PostgreSQL tests run (TEST_POSTGRES set, as ./test.sh does), on a server of its own.
        if (SharedServer is null)
        {
            return;
        }

        _server = (await PostgresScriptAsync("start")).Trim();
        await base.InitializeAsync();
    }

    /// <summary>Stops the database with a fast shutdown (sessions ended, new connections refused); the data stays.</summary>
    public Task StopDatabaseAsync() => PostgresScriptAsync("pause");

    /// <summary>Starts the database again on the same port and data.</summary>
    public Task StartDatabaseAsync() => PostgresScriptAsync("resume");

    /// <summary>True when a new connection to the database succeeds.</summary>
    public async Task<bool> DatabaseAnswersAsync()
    {
        try
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_server) { Pooling = false, Timeout = 5 }.ConnectionString);
            await connection.OpenAsync();
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (_server is null)
        {
            return;
        }

        try
        {
            // A failed run may have left it stopped: the base class drops the cluster's database on it.
            await StartDatabaseAsync();
            await base.DisposeAsync();
        }
        finally
        {
            await PostgresScriptAsync("stop");
        }
    }

    private async Task<string> PostgresScriptAsync(string command)
    {
        var script = RepositoryPaths.Of("scripts", "postgres.sh");
        var info = new ProcessStartInfo("bash", [script, command, _directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("bash did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0
            ? await output
            : throw new InvalidOperationException($"postgres.sh {command} failed ({process.ExitCode}): {await errors}");
    }
}

/// <summary>
/// PostgreSQL stopped for 10 s under write and read load and started again (issue 17, item 13): every answer meanwhile
/// is a success or a 503 <c>service_unavailable</c> with Retry-After, none waits past the grain-call deadline, every
/// acknowledged write is there afterwards, and the same silo processes serve again without a restart.
/// </summary>
[Collection(nameof(FailureDetectionCollection))]
public sealed class PostgresOutageTests(PostgresOutageCluster cluster) : IClassFixture<PostgresOutageCluster>
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    /// <summary>
    /// No request may wait longer than this: Orleans:ResponseTimeout (30 s, src/Silo/Hosting/FailureDetection.cs) is the
    /// longest any grain call waits for its answer, plus 5 s for the gateway around it. A database that is away must not
    /// make a request wait at all (a refused connection fails at once); the bound only tells a hang from an answer.
    /// </summary>
    private static readonly TimeSpan HangBound = TimeSpan.FromSeconds(35);

    private sealed record Outcome(string Silo, string Method, TimeSpan Started, TimeSpan Duration, bool Success, string? Wrong);

    [Fact]
    public async Task A_ten_second_database_outage_answers_503_then_recovers_without_losing_an_acknowledged_write()
    {
        Assert.SkipUnless(cluster.Available, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        var output = TestContext.Current.TestOutputHelper;
        // Far above the hang bound, so that a hang is measured rather than cut off by the client.
        var clients = cluster.Silos.Select(s => new HttpClient { BaseAddress = s.BaseAddress, Timeout = TimeSpan.FromSeconds(120) }).ToArray();
        var processIds = cluster.Silos.Select(s => s.ProcessId).ToArray();
        var admin = await Api.LoginAsync(clients[0], ProcessCluster.AdminEmail, ProcessCluster.AdminPassword);
        var (keyStatus, keyJson, _) = await Api.SendAsync(clients[0], HttpMethod.Post, "/v1/api-keys", new { name = "outage" }, admin);
        Assert.Equal(HttpStatusCode.Created, keyStatus);
        var key = (string)keyJson!["data"]!["key"]!;

        var clock = Stopwatch.StartNew();
        var acknowledged = new List<string>();
        var outcomes = new ConcurrentQueue<Outcome>();
        // Consecutive successes per silo among requests started after the database is back (any failure resets).
        var streaks = new int[3];
        var recovering = false;
        using var stop = new CancellationTokenSource();

        async Task LoadAsync(int worker)
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var target = (worker + n) % 3;
                string? id = null;
                if (n % 2 == 1)
                {
                    lock (acknowledged)
                    {
                        id = acknowledged.Count > 0 ? acknowledged[(worker * 7919 + n) % acknowledged.Count] : null;
                    }
                }

                var counts = Volatile.Read(ref recovering);
                var started = clock.Elapsed;
                string? wrong = null;
                var success = false;
                try
                {
                    var (status, json, response) = id is not null
                        ? await Api.SendAsync(clients[target], HttpMethod.Get, $"/v1/resources/{id}",
                            configure: r => r.Headers.TryAddWithoutValidation("x-api-key", key))
                        : await Api.SendAsync(clients[target], HttpMethod.Post, "/v1/resources", new { name = $"o{worker}-{n}" },
                            configure: r =>
                            {
                                r.Headers.TryAddWithoutValidation("x-api-key", key);
                                r.Headers.TryAddWithoutValidation("Idempotency-Key", $"outage-{worker}-{n}");
                            });
                    if (status == HttpStatusCode.Created && id is null)
                    {
                        success = true;
                        lock (acknowledged)
                        {
                            acknowledged.Add((string)json!["data"]!["id"]!);
                        }
                    }
                    else if (status == HttpStatusCode.OK && id is not null)
                    {
                        success = true;
                    }
                    else if (status != HttpStatusCode.ServiceUnavailable)
                    {
                        wrong = $"{(int)status} {json?["code"]}";
                    }
                    else if ((string?)json?["code"] != "service_unavailable" || response.Headers.RetryAfter is null)
                    {
                        wrong = $"503 with code {json?["code"]} and Retry-After {response.Headers.RetryAfter}";
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    wrong = $"{e.GetType().Name}: {e.Message}";
                }

                var duration = clock.Elapsed - started;
                outcomes.Enqueue(new Outcome(cluster.Silos[target].Name, id is null ? "POST" : "GET", started, duration, success, wrong));
                if (counts)
                {
                    if (success)
                    {
                        Interlocked.Increment(ref streaks[target]);
                    }
                    else
                    {
                        Volatile.Write(ref streaks[target], 0);
                    }
                }
            }
        }

        var load = Enumerable.Range(0, 6).Select(LoadAsync).ToArray();
        await KillTests.WaitUntilAsync(() => { lock (acknowledged) { return acknowledged.Count >= 60; } }, TimeSpan.FromSeconds(90));
        var loadBefore = File.ReadAllText("/proc/loadavg").Trim();

        var stopping = clock.Elapsed;
        await cluster.StopDatabaseAsync();
        var stopped = clock.Elapsed;
        Assert.False(await cluster.DatabaseAnswersAsync(), "the database still answers after it was stopped");
        // The deliberate outage: the load keeps running against the silos meanwhile.
        await Task.Delay(Outage, TestContext.Current.CancellationToken);
        var starting = clock.Elapsed;
        await cluster.StartDatabaseAsync();
        var restarted = clock.Elapsed;
        Volatile.Write(ref recovering, true);

        // Recovery without a restart: 30 successful answers in a row on every silo.
        await KillTests.WaitUntilAsync(() => Enumerable.Range(0, 3).All(i => Volatile.Read(ref streaks[i]) >= 30), TimeSpan.FromSeconds(120));
        var recovered = clock.Elapsed;
        await stop.CancelAsync();
        await Task.WhenAll(load);
        var loadAfter = File.ReadAllText("/proc/loadavg").Trim();

        var all = outcomes.ToArray();
        var wrongAnswers = all.Where(o => o.Wrong is not null).ToArray();
        Assert.True(wrongAnswers.Length == 0,
            $"{wrongAnswers.Length} answers were neither success nor 503 service_unavailable with Retry-After: "
            + string.Join(" | ", wrongAnswers.Take(5).Select(o => $"{o.Method} on {o.Silo} at {o.Started.TotalSeconds:F1} s: {o.Wrong}")));
        var longest = all.MaxBy(o => o.Duration)!;
        Assert.True(longest.Duration < HangBound,
            $"a {longest.Method} on {longest.Silo} started at {longest.Started.TotalSeconds:F1} s took {longest.Duration.TotalSeconds:F1} s (bound {HangBound.TotalSeconds} s)");

        // The same processes serve again, every silo is still an active member, and each reports ready.
        Assert.All(cluster.Silos, s => Assert.True(s.IsRunning, $"{s.Name} exited"));
        Assert.Equal(processIds, cluster.Silos.Select(s => s.ProcessId).ToArray());
        var membership = await cluster.MembershipAsync();
        Assert.True(membership.Count == 3 && membership.All(m => m.Status == 3),
            "membership after the outage: " + string.Join(", ", membership.Select(m => $"{m.Name}={m.Status}")));
        foreach (var client in clients)
        {
            await Eventually.HoldsAsync(async () =>
            {
                using var ready = await client.GetAsync("/health/ready", TestContext.Current.CancellationToken);
                return ready.StatusCode == HttpStatusCode.OK;
            }, $"{client.BaseAddress} ready again", TimeSpan.FromSeconds(60));
        }

        // Every write acknowledged with 201 (before, during or after the outage) is there.
        string[] written;
        lock (acknowledged)
        {
            written = [.. acknowledged];
        }

        for (var i = 0; i < written.Length; i++)
        {
            var (status, _, _) = await Api.SendAsync(clients[i % 3], HttpMethod.Get, $"/v1/resources/{written[i]}",
                configure: r => r.Headers.TryAddWithoutValidation("x-api-key", key));
            Assert.True(status == HttpStatusCode.OK, $"acknowledged {written[i]} answered {(int)status} after the outage");
        }

        // Figures for docs/operations.md ("PostgreSQL restart or failover"); never asserted.
        var failed = all.Where(o => !o.Success).ToArray();
        var firstFailure = failed.Length > 0 ? failed.Min(o => o.Started + o.Duration) : TimeSpan.Zero;
        var lastFailure = failed.Length > 0 ? failed.Max(o => o.Started + o.Duration) : TimeSpan.Zero;
        var afterRestart = all.Where(o => o.Started >= restarted).ToArray();
        var firstCleanSecond = Enumerable.Range(0, 600)
            .Select(s => (Second: s, Requests: afterRestart.Where(o => (int)(o.Started - restarted).TotalSeconds == s).ToArray()))
            .FirstOrDefault(b => b.Requests.Length > 0 && b.Requests.All(o => o.Success)).Second;
        int Down(string method, bool success) =>
            all.Count(o => o.Method == method && o.Success == success && o.Started >= stopped && o.Started + o.Duration <= starting);
        output?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"""
            PostgreSQL outage: fast shutdown took {(stopped - stopping).TotalSeconds:F1} s, down for {(starting - stopped).TotalSeconds:F1} s, start took {(restarted - starting).TotalSeconds:F1} s
            requests: {all.Length} ({all.Count(o => o.Success)} succeeded), {failed.Length} refused with 503, {written.Length} writes acknowledged
            refusals from {(firstFailure - stopping).TotalSeconds:F1} s to {(lastFailure - stopping).TotalSeconds:F1} s after the stop began: {(lastFailure - firstFailure).TotalSeconds:F1} s of failures; last refusal {(lastFailure - restarted).TotalSeconds:F1} s after the restart
            slowest answer {longest.Duration.TotalSeconds:F2} s ({longest.Method}); slowest refusal {(failed.Length > 0 ? failed.Max(o => o.Duration).TotalSeconds : 0):F2} s
            first second with every request successful: second {firstCleanSecond} after the restart; 30 in a row on every silo {(recovered - restarted).TotalSeconds:F1} s after it
            while it was down (answered between the end of the stop and the start): GETs {Down("GET", true)} ok, {Down("GET", false)} refused; POSTs {Down("POST", true)} ok, {Down("POST", false)} refused
            load average before {loadBefore}; after {loadAfter}; silo logs in {cluster.LogDirectory}
            """));
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }
}
