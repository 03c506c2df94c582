using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace ApiPlatform.ClusterTests;

/// <summary>Three silo processes exporting over OTLP to a collector the test runs, and writing JSON logs.</summary>
public sealed class TracedCluster : IAsyncLifetime
{
    public ProcessCluster Cluster { get; } = new();

    public OtlpReceiver Receiver { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Receiver = await OtlpReceiver.StartAsync();
        foreach (var (key, value) in new Dictionary<string, string>
        {
            // The standard variables alone turn tracing and OTLP export on.
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Receiver.BaseAddress.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            // Every request traced (the default samples a tenth), through the standard sampler variables.
            ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio",
            ["OTEL_TRACES_SAMPLER_ARG"] = "1",
            // Export soon rather than every 5 s (spans) and 60 s (metrics), so the test waits less.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
            ["Logging__Console__FormatterName"] = "json",
            // A replayed refresh token counts as theft at once (no retry window), so a test can provoke the warning.
            ["Jwt__RefreshRetryWindow"] = "00:00:00",
        })
        {
            Cluster.Environment[key] = value;
        }

        await Cluster.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Receiver.DisposeAsync();
    }
}

/// <summary>
/// Telemetry of real processes: one request is one trace from HTTP through grain calls on another silo to SQL, as an
/// OTLP collector receives it; metrics and logs reach the collector too; JSON log lines carry request_id, trace and
/// span ids.
/// </summary>
public sealed class TelemetryClusterTests(TracedCluster traced) : IClassFixture<TracedCluster>
{
    private ProcessCluster Ready()
    {
        Assert.SkipUnless(traced.Cluster.Available, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        return traced.Cluster;
    }

    [Fact]
    public async Task A_request_is_one_trace_across_silos_from_http_through_grain_calls_to_sql()
    {
        var cluster = Ready();
        var clients = cluster.Silos.Select(s => Api.Client(s.BaseAddress)).ToList();
        try
        {
            var (_, token) = await Api.RegisterAsync(clients[0]);
            var (status, created, _) = await Api.SendAsync(clients[0], HttpMethod.Post, "/v1/resources", new { name = "traced" }, token);
            Assert.Equal(HttpStatusCode.Created, status);
            var id = (string)created!["data"]!["id"]!;

            // The resource's grain lives on one silo; reading it through each silo, at least two reads cross silos.
            // The first read activates the grain, which loads the row (SQL).
            var traces = new List<(ActivityTraceId Trace, ActivitySpanId Caller, string Silo)>();
            foreach (var (client, silo) in clients.Zip(cluster.Silos))
            {
                var trace = ActivityTraceId.CreateRandom();
                var caller = ActivitySpanId.CreateRandom();
                var (read, _, _) = await Api.SendAsync(client, HttpMethod.Get, $"/v1/resources/{id}", token: token,
                    configure: r => r.Headers.TryAddWithoutValidation("traceparent", $"00-{trace}-{caller}-01"));
                Assert.Equal(HttpStatusCode.OK, read);
                traces.Add((trace, caller, silo.Name));
            }

            List<ReceivedSpan> SpansOf(ActivityTraceId trace) => [.. traced.Receiver.Spans.Where(s => s.TraceId == trace.ToString())];
            static bool IsGrainServer(ReceivedSpan s) =>
                s.Scope.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && s.Kind == ReceivedSpan.KindServer && s.Name.Contains("IResourceGrain", StringComparison.Ordinal);
            // Spans reach the collector in each silo's own export batches, so a child (the rate limiter's lease
            // return, which runs after the response) can arrive before its parent: wait for whole trees.
            static bool Whole(List<ReceivedSpan> spans, ActivitySpanId caller)
            {
                var ids = spans.Select(s => s.SpanId).Append(caller.ToString()).ToHashSet();
                return spans.All(s => ids.Contains(s.ParentSpanId));
            }

            await Eventually.HoldsAsync(() => Task.FromResult(traces.All(t =>
                SpansOf(t.Trace).Any(s => s.Scope == "Microsoft.AspNetCore") && SpansOf(t.Trace).Any(IsGrainServer)
                && Whole(SpansOf(t.Trace), t.Caller))),
                "every read's HTTP span, the grain's server span and whole trees at the collector", TimeSpan.FromSeconds(60));

            foreach (var (trace, caller, silo) in traces)
            {
                var spans = SpansOf(trace);
                var http = spans.Single(s => s.Scope == "Microsoft.AspNetCore");
                Assert.Equal(silo, http.Instance);
                Assert.Equal(caller.ToString(), http.ParentSpanId);
                Assert.Equal(ReceivedSpan.KindServer, http.Kind);
                // One tree: every span hangs off the caller's span or another span of the trace.
                var ids = spans.Select(s => s.SpanId).Append(caller.ToString()).ToHashSet();
                Assert.All(spans, s => Assert.Contains(s.ParentSpanId, ids));
            }

            var crossing = traces.Count(t => SpansOf(t.Trace).Single(IsGrainServer).Instance != t.Silo);
            Assert.True(crossing >= 2, $"Expected the reads through the silos without the grain to cross silos; {crossing} did.");
            Assert.Contains(traces, t => SpansOf(t.Trace).Any(s => s.Scope == "Npgsql" && s.Kind == ReceivedSpan.KindClient));

            // The other signals arrive too.
            await Eventually.HoldsAsync(() => Task.FromResult(traced.Receiver.Posts("/v1/metrics") > 0 && traced.Receiver.Posts("/v1/logs") > 0),
                "metrics and logs at the collector", TimeSpan.FromSeconds(60));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_json_log_line_written_during_a_request_carries_its_request_id_trace_and_span()
    {
        var cluster = Ready();
        var silo = cluster.Silos[0];
        using var client = Api.Client(silo.BaseAddress);
        var (_, token) = await Api.RegisterAsync(client);
        var (_, me, _) = await Api.SendAsync(client, HttpMethod.Get, "/v1/users/me", token: token);
        var email = (string)me!["data"]!["email"]!;
        var (_, login, _) = await Api.SendAsync(client, HttpMethod.Post, "/v1/auth/login", new { email, password = "password-123" });
        var spent = (string)login!["refresh_token"]!;
        var (refreshed, _, _) = await Api.SendAsync(client, HttpMethod.Post, "/v1/auth/refresh", new { refresh_token = spent });
        Assert.Equal(HttpStatusCode.OK, refreshed);

        // Replaying a spent refresh token is theft detection: the silo logs a warning while answering.
        var (replayed, _, response) = await Api.SendAsync(client, HttpMethod.Post, "/v1/auth/refresh", new { refresh_token = spent });
        Assert.Equal(HttpStatusCode.Unauthorized, replayed);
        var requestId = response.Headers.GetValues("X-Request-Id").Single();

        JsonNode? line = null;
        await Eventually.HoldsAsync(async () =>
        {
            line = (await ReadLinesAsync(silo.LogPath)).Select(TryParse)
                .FirstOrDefault(l => ((string?)l?["Message"])?.Contains("Refresh token reuse", StringComparison.Ordinal) == true
                    && Scope(l, "request_id") == requestId);
            return line is not null;
        }, $"the warning of request {requestId} in {silo.LogPath}", TimeSpan.FromSeconds(30));

        Assert.Equal("Warning", (string?)line!["LogLevel"]);
        Assert.Matches("^[0-9a-f]{32}$", Scope(line, "TraceId"));
        Assert.Matches("^[0-9a-f]{16}$", Scope(line, "SpanId"));
        Assert.DoesNotContain(spent, line.ToJsonString(), StringComparison.Ordinal);
    }

    private static string? Scope(JsonNode? line, string key) =>
        line?["Scopes"]?.AsArray().Select(s => (string?)s?[key]).FirstOrDefault(v => v is not null);

    private static JsonNode? TryParse(string line)
    {
        try
        {
            return line.StartsWith('{') ? JsonNode.Parse(line) : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static async Task<string[]> ReadLinesAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return (await reader.ReadToEndAsync()).Split('\n');
    }
}
