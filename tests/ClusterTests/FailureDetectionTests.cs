using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Npgsql;

namespace ApiPlatform.ClusterTests;

/// <summary>
/// A three-silo cluster with the failure detection the product SHIPS (src/Silo/Hosting/FailureDetection.cs): none of
/// the shortened membership settings the other cluster tests use.
/// </summary>
public class ShippedSettingsCluster : ProcessCluster
{
    protected override void Configure(int silo, Dictionary<string, string> environment)
    {
        foreach (var key in environment.Keys.Where(k => k.StartsWith("Orleans__Membership__", StringComparison.Ordinal)).ToList())
        {
            environment.Remove(key);
        }
    }

    /// <summary>Membership rows of this cluster: silo name and status (3 Active, 6 Dead; Orleans.Runtime.SiloStatus).</summary>
    public async Task<List<(string Name, int Status, int Suspicions)>> MembershipAsync()
    {
        await using var connection = new NpgsqlConnection(Environment["ConnectionStrings__Postgres"]);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT siloname, status, coalesce(suspecttimes, '') FROM orleansmembershiptable WHERE deploymentid = @cluster", connection);
        command.Parameters.AddWithValue("cluster", Environment["Orleans__ClusterId"]);
        var rows = new List<(string, int, int)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var suspicions = reader.GetString(2);
            rows.Add((reader.GetString(0), reader.GetInt32(1), suspicions.Length == 0 ? 0 : suspicions.Split('|').Length));
        }

        return rows;
    }
}

/// <summary>
/// These tests kill a silo and keep the machine's CPU full: they run alone, after every other cluster test, so that
/// neither disturbs the other tests' clusters (whose membership settings are shortened) nor is disturbed by them.
/// </summary>
[CollectionDefinition(nameof(FailureDetectionCollection), DisableParallelization = true)]
public sealed class FailureDetectionCollection;

/// <summary>
/// kill -9 of one of three silos under write and read load, with the shipped settings: nothing acknowledged is lost,
/// every refusal in the window is a 503 <c>service_unavailable</c> with Retry-After (never another 5xx, never a
/// request without an answer), and the surviving silos serve every request again once the dead one is declared.
/// </summary>
[Collection(nameof(FailureDetectionCollection))]
public sealed class ShippedKillTests(ShippedSettingsCluster cluster) : IClassFixture<ShippedSettingsCluster>
{
    [Fact]
    public async Task A_killed_silo_costs_no_acknowledged_write_and_no_error_but_503_with_the_shipped_settings()
    {
        Assert.SkipUnless(cluster.Available, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        // A generous client timeout: an answer later than this would be a hang (the stated bound is far lower:
        // Orleans:ResponseTimeout 30 s for a call, plus Gateway:Failover:ReadRetryWait 10 s for a retried read).
        var clients = cluster.Silos.Select(s => new HttpClient { BaseAddress = s.BaseAddress, Timeout = TimeSpan.FromSeconds(90) }).ToArray();
        // The admin's own plan: its limits are raised far above this load for every cluster test (ProcessCluster).
        var admin = await Api.LoginAsync(clients[0], ProcessCluster.AdminEmail, ProcessCluster.AdminPassword);
        var (keyStatus, keyJson, _) = await Api.SendAsync(clients[0], HttpMethod.Post, "/v1/api-keys", new { name = "kill" }, admin);
        Assert.Equal(HttpStatusCode.Created, keyStatus);
        var key = (string)keyJson!["data"]!["key"]!;

        var acknowledged = new ConcurrentBag<string>();
        var readable = new ConcurrentQueue<string>();
        var wrong = new ConcurrentQueue<string>();
        var refused = 0;
        var alive = new[] { true, true, true };
        using var stop = new CancellationTokenSource();

        async Task LoadAsync(int worker)
        {
            for (var n = 0; !stop.IsCancellationRequested && n < 100_000; n++)
            {
                var target = (worker + n) % 3;
                if (!Volatile.Read(ref alive[target]))
                {
                    continue;
                }

                var read = n % 2 == 1 && readable.TryPeek(out _);
                var id = read ? readable.ElementAt(n % readable.Count) : null;
                try
                {
                    var (status, json, response) = read
                        ? await Api.SendAsync(clients[target], HttpMethod.Get, $"/v1/resources/{id}",
                            configure: r => r.Headers.TryAddWithoutValidation("x-api-key", key))
                        : await Api.SendAsync(clients[target], HttpMethod.Post, "/v1/resources", new { name = $"k{worker}-{n}" },
                            configure: r =>
                            {
                                r.Headers.TryAddWithoutValidation("x-api-key", key);
                                r.Headers.TryAddWithoutValidation("Idempotency-Key", $"kill-{worker}-{n}");
                            });
                    if (status == HttpStatusCode.Created)
                    {
                        var created = (string)json!["data"]!["id"]!;
                        acknowledged.Add(created);
                        readable.Enqueue(created);
                    }
                    else if (status == HttpStatusCode.ServiceUnavailable)
                    {
                        Interlocked.Increment(ref refused);
                        if ((string?)json?["code"] != "service_unavailable" || response.Headers.RetryAfter is null)
                        {
                            wrong.Enqueue($"503 without service_unavailable and Retry-After on silo {target + 1}");
                        }
                    }
                    else if (status != HttpStatusCode.OK)
                    {
                        wrong.Enqueue($"{(int)status} {json?["code"]} on silo {target + 1} ({(read ? "GET" : "POST")})");
                    }
                }
                catch (HttpRequestException) when (!Volatile.Read(ref alive[target]))
                {
                    // Cut off by the kill on the silo that died: never acknowledged; a client would retry it.
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    wrong.Enqueue($"{e.GetType().Name} from silo {target + 1}: {e.Message}");
                }
            }
        }

        var load = Enumerable.Range(0, 6).Select(LoadAsync).ToArray();
        await KillTests.WaitUntilAsync(() => acknowledged.Count >= 60, TimeSpan.FromSeconds(90));

        Volatile.Write(ref alive[2], false);
        await cluster.Silos[2].KillAsync();

        // Declared dead by the shipped settings (about 3 probe periods here; the bound is generous for a loaded CI
        // machine), and from then on the surviving silos serve again: 30 answers in a row all successful.
        await cluster.WaitUntilDeclaredDeadAsync(cluster.Silos[2], TimeSpan.FromSeconds(60));
        var streak = 0;
        await Eventually.HoldsAsync(async () =>
        {
            var target = streak % 2;
            var (status, _, _) = await Api.SendAsync(clients[target], HttpMethod.Post, "/v1/resources", new { name = "after" },
                configure: r => r.Headers.TryAddWithoutValidation("x-api-key", key));
            streak = status == HttpStatusCode.Created ? streak + 1 : 0;
            return streak >= 30;
        }, "30 successful requests in a row on the surviving silos", TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Assert.True(wrong.IsEmpty, $"{wrong.Count} answers were neither success nor 503 service_unavailable: {string.Join(" | ", wrong.Take(5))}");
        foreach (var id in acknowledged)
        {
            var (status, _, _) = await Api.SendAsync(clients[id.GetHashCode() % 2 == 0 ? 0 : 1], HttpMethod.Get, $"/v1/resources/{id}",
                configure: r => r.Headers.TryAddWithoutValidation("x-api-key", key));
            Assert.True(status == HttpStatusCode.OK, $"acknowledged {id} answered {(int)status} after the kill");
        }

        TestContext.Current.SendDiagnosticMessage($"kill with shipped settings: {acknowledged.Count} acknowledged, {refused} refused with 503");
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }
}

/// <summary>
/// The shipped failure detection declares no silo dead while every silo's CPU is full: busy threads in this process
/// take both cores and the three silos serve as many requests as they can take, for about a minute.
/// </summary>
[Collection(nameof(FailureDetectionCollection))]
public sealed class SaturationTests(ShippedSettingsCluster cluster) : IClassFixture<ShippedSettingsCluster>
{
    private static readonly TimeSpan Saturation = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task No_silo_is_declared_dead_while_the_cpu_is_saturated()
    {
        Assert.SkipUnless(cluster.Available, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        var clients = cluster.Silos.Select(s => new HttpClient { BaseAddress = s.BaseAddress, Timeout = TimeSpan.FromSeconds(90) }).ToArray();
        var (_, token) = await Api.RegisterAsync(clients[0]);
        var served = 0L;
        var wrong = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource(Saturation);

        // CPU hogs: two per core, each spinning until the window ends (the silos' own work competes with them).
        var hogs = Enumerable.Range(0, 2 * Environment.ProcessorCount).Select(_ => Task.Factory.StartNew(() =>
        {
            var spin = 0L;
            while (!stop.IsCancellationRequested)
            {
                spin++;
            }

            return spin;
        }, TaskCreationOptions.LongRunning)).ToArray();

        async Task LoadAsync(int worker)
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var target = (worker + n) % 3;
                try
                {
                    var (status, _, _) = n % 2 == 0
                        ? await Api.SendAsync(clients[target], HttpMethod.Post, "/v1/resources", new { name = $"s{worker}-{n}" }, token)
                        : await Api.SendAsync(clients[target], HttpMethod.Get, "/v1/resources?per_page=5", token: token);
                    if ((int)status is >= 200 and < 300)
                    {
                        Interlocked.Increment(ref served);
                    }
                    else if (status != HttpStatusCode.ServiceUnavailable)
                    {
                        wrong.Enqueue($"{(int)status} from silo {target + 1}");
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    wrong.Enqueue($"{e.GetType().Name} from silo {target + 1}");
                }
            }
        }

        var started = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 24).Select(LoadAsync).Append(Task.WhenAll(hogs)));
        TestContext.Current.SendDiagnosticMessage($"saturated for {started.Elapsed.TotalSeconds:F0} s, {served} requests served");

        // Every silo is still Active in the table and still serves (a silo declared dead stops itself).
        var membership = await cluster.MembershipAsync();
        Assert.True(membership.Count(m => m.Status == 3) == 3 && membership.All(m => m.Status == 3),
            "membership after saturation: " + string.Join(", ", membership.Select(m => $"{m.Name}={m.Status} ({m.Suspicions} suspicions)")));
        Assert.All(cluster.Silos, s => Assert.True(s.IsRunning, $"{s.Name} exited"));
        foreach (var client in clients)
        {
            using var ready = await client.GetAsync("/health/ready", TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        Assert.True(served > 0, "no request was served during the saturation");
        Assert.True(wrong.IsEmpty, $"{wrong.Count} answers were neither success nor 503: {string.Join(" | ", wrong.Take(5))}");
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }
}
